import zlib from 'node:zlib';

/**
 * PNG chunks written byte by byte (length, type, data, CRC-32), to build images whose text sits
 * where an encoder would not put it: after the image data, behind a large filler, compressed.
 */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export function crc32(b: Buffer): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const nul = Buffer.from([0]);
export const tEXt = (keyword: string, text: string) => chunk('tEXt', Buffer.concat([Buffer.from(keyword, 'latin1'), nul, Buffer.from(text, 'latin1')]));
export const zTXt = (keyword: string, text: string) =>
  chunk('zTXt', Buffer.concat([Buffer.from(keyword, 'latin1'), nul, Buffer.from([0]), zlib.deflateSync(Buffer.from(text, 'latin1'))]));
export const iTXt = (keyword: string, text: string, compressed: boolean) =>
  chunk(
    'iTXt',
    Buffer.concat([Buffer.from(keyword, 'latin1'), nul, Buffer.from([compressed ? 1 : 0, 0]), Buffer.from('en'), nul, nul, compressed ? zlib.deflateSync(Buffer.from(text)) : Buffer.from(text)]),
  );

/** The chunks of a PNG, in order. */
export function chunksOf(png: Buffer): { type: string; bytes: Buffer }[] {
  const out: { type: string; bytes: Buffer }[] = [];
  for (let o = 8; o < png.length; ) {
    const len = png.readUInt32BE(o);
    out.push({ type: png.toString('latin1', o + 4, o + 8), bytes: png.subarray(o, o + 12 + len) });
    o += 12 + len;
  }
  return out;
}

/** `png` with `beforeData` inserted after IHDR and `afterData` after the last IDAT (before IEND). */
export function withChunks(png: Buffer, beforeData: Buffer[], afterData: Buffer[] = []): Buffer {
  const cs = chunksOf(png);
  const lastIdat = cs.map((c) => c.type).lastIndexOf('IDAT');
  return Buffer.concat([
    png.subarray(0, 8),
    cs[0]!.bytes,
    ...beforeData,
    ...cs.slice(1, lastIdat + 1).map((c) => c.bytes),
    ...afterData,
    ...cs.slice(lastIdat + 1).map((c) => c.bytes),
  ]);
}
