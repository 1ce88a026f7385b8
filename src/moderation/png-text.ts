import fs from 'node:fs/promises';
import { IMAGE_TEXT_SCAN_BUDGET, type TextSink } from './text-sink.js';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export const isPng = (b: Buffer) => b.length >= 8 && b.subarray(0, 8).equals(SIGNATURE);

/**
 * Every text chunk of a PNG, wherever it sits: before or after the image data, behind chunks of
 * any size (libvips, under sharp, reports only the text chunks before IDAT). tEXt is Latin-1,
 * zTXt and compressed iTXt are inflated within the scan budget, iTXt is UTF-8 (an XMP packet
 * among them), eXIf is read for its printable runs. The walk follows the chunk lengths to the
 * end of the bytes, past IEND too; a length that runs past the end stops it (the decoders stop
 * there as well).
 */
export function pngText(b: Buffer, sink: TextSink): void {
  let o = 8;
  while (o + 8 <= b.length && !sink.full) {
    const len = b.readUInt32BE(o);
    const type = b.toString('latin1', o + 4, o + 8);
    const start = o + 8;
    const end = start + len;
    if (end > b.length) {
      // A truncated last chunk: what there is of it is still read, as a lenient reader would.
      readChunk(type, b.subarray(start), sink);
      break;
    }
    readChunk(type, b.subarray(start, end), sink);
    o = end + 4; // the CRC
  }
}

/** The chunk types that carry text; every other chunk (IDAT above all) is skipped unread. */
const TEXT_CHUNKS = new Set(['tEXt', 'zTXt', 'iTXt', 'eXIf']);

/**
 * A text chunk is read no further than this: past the scan budget its text (or, compressed,
 * what it inflates to — never less than its compressed size less the format's overhead) could
 * not fit anyway, so the image is refused without reading the rest.
 */
const CHUNK_READ_LIMIT = IMAGE_TEXT_SCAN_BUDGET + 64 * 1024;

/**
 * pngText over a file (a spooled upload) in constant memory: chunk headers are read and the
 * pixel data is seeked over, so a 50 MB upload costs a few small reads besides its text chunks.
 */
export async function pngTextOfFile(file: string, sink: TextSink): Promise<void> {
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(8);
    let o = 8;
    while (o + 8 <= size && !sink.full) {
      await fh.read(head, 0, 8, o);
      const len = head.readUInt32BE(0);
      const type = head.toString('latin1', 4, 8);
      const start = o + 8;
      const available = Math.min(len, size - start);
      if (TEXT_CHUNKS.has(type)) {
        if (available > CHUNK_READ_LIMIT) {
          sink.unscannable = 'over_budget';
          return;
        }
        const data = Buffer.alloc(available);
        await fh.read(data, 0, available, start);
        readChunk(type, data, sink);
      }
      o = start + len + 4; // the data, then the CRC
    }
  } finally {
    await fh.close();
  }
}

function readChunk(type: string, data: Buffer, sink: TextSink): void {
  switch (type) {
    case 'tEXt': {
      const nul = data.indexOf(0);
      sink.add(nul < 0 ? data.toString('latin1') : `${data.toString('latin1', 0, nul)} ${data.toString('latin1', nul + 1)}`);
      return;
    }
    case 'zTXt': {
      const nul = data.indexOf(0);
      if (nul < 0) return sink.addPrintable(data);
      sink.add(data.toString('latin1', 0, nul));
      const text = sink.inflate(data.subarray(nul + 2));
      if (text) sink.add(text.toString('latin1'));
      return;
    }
    case 'iTXt':
      return readItxt(data, sink);
    case 'eXIf':
      return sink.addPrintable(data);
  }
}

/** keyword \0 compressed? method language \0 translated keyword \0 text (UTF-8). */
function readItxt(data: Buffer, sink: TextSink): void {
  const k = data.indexOf(0);
  if (k < 0 || k + 3 > data.length) return sink.addPrintable(data);
  const keyword = data.toString('latin1', 0, k);
  const compressed = data[k + 1] === 1;
  const lang = data.indexOf(0, k + 3);
  const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
  if (lang < 0 || translated < 0) return sink.addPrintable(data);
  sink.add(`${keyword} ${data.toString('utf8', k + 3, lang)} ${data.toString('utf8', lang + 1, translated)}`);
  const body = data.subarray(translated + 1);
  const text = compressed ? sink.inflate(body) : body;
  if (!text) return;
  const s = text.toString('utf8');
  if (keyword === 'XML:com.adobe.xmp') sink.addMarkup(s);
  else sink.add(s);
}
