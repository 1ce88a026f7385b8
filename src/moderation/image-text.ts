import fs from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { TextSink, type Unscannable } from './text-sink.js';
import { isPng, pngText, pngTextOfFile } from './png-text.js';
import { isJpeg, jpegText } from './jpeg-text.js';
import { isWebp, webpText } from './webp-text.js';

export interface ImageText {
  /** Every piece of embedded text found, one per line. */
  text: string;
  /** Set when not all of it could be read: past the scan budget, or compressed text that does not inflate. */
  unscannable: Unscannable | null;
}

/**
 * The text an image carries besides its pixels: PNG text chunks, XMP packets, JPEG comments and
 * the printable runs of EXIF and other metadata blocks. The rule-based moderator cannot see
 * pixels, so this is what it can check; captions and titles are where tools and people write
 * what an image shows. All of it is read, wherever it sits in the file, up to
 * IMAGE_TEXT_SCAN_BUDGET; the caller refuses an image whose text could not all be read.
 * PNG, JPEG and WebP are walked byte by byte (libvips skips PNG text after the image data); any
 * other format sharp decodes is read through sharp's metadata. Undecodable input yields ''.
 */
export async function imageText(input: Buffer | string): Promise<ImageText> {
  const sink = new TextSink();
  if (typeof input === 'string') {
    // A file path (a spooled upload): a PNG, the big lossless kind, is walked in the file; a
    // JPEG or WebP is read whole (at most EASEL_UPLOAD_CONCURRENCY of them at once).
    if (await fileIsPng(input)) await pngTextOfFile(input, sink);
    else await textOfBytes(await fs.readFile(input), sink);
  } else {
    await textOfBytes(input, sink);
  }
  return { text: sink.text(), unscannable: sink.unscannable };
}

async function fileIsPng(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(8);
    const { bytesRead } = await fh.read(head, 0, 8, 0);
    return isPng(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

async function textOfBytes(bytes: Buffer, sink: TextSink): Promise<void> {
  if (isPng(bytes)) pngText(bytes, sink);
  else if (isJpeg(bytes)) jpegText(bytes, sink);
  else if (isWebp(bytes)) webpText(bytes, sink);
  else await viaSharp(bytes, sink);
}

async function viaSharp(bytes: Buffer, sink: TextSink): Promise<void> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    return;
  }
  for (const c of meta.comments ?? []) sink.add(`${c.keyword} ${c.text}`);
  if (meta.xmp) sink.addMarkup(meta.xmp.toString('utf8'));
  if (meta.exif) sink.addPrintable(meta.exif);
}
