import type { TextSink } from './text-sink.js';

export const isWebp = (b: Buffer) => b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP';

/** Chunks that hold pixels, animation frames or a colour profile: no text to read in them. */
const IMAGE_CHUNKS = new Set(['VP8 ', 'VP8L', 'VP8X', 'ALPH', 'ANIM', 'ANMF', 'ICCP']);

/**
 * The text of a WebP: its XMP chunk, and the printable runs of its EXIF chunk and of any chunk
 * that is not image data (an unknown chunk is where text would be hidden). Every chunk is
 * visited, to the end of the bytes.
 */
export function webpText(b: Buffer, sink: TextSink): void {
  let o = 12;
  while (o + 8 <= b.length && !sink.full) {
    const type = b.toString('latin1', o, o + 4);
    const len = b.readUInt32LE(o + 4);
    const data = b.subarray(o + 8, Math.min(b.length, o + 8 + len));
    if (type === 'XMP ') sink.addMarkup(data.toString('utf8'));
    else if (!IMAGE_CHUNKS.has(type)) sink.addPrintable(data);
    o += 8 + len + (len % 2); // chunks are padded to an even length
  }
}
