import sharp, { type Metadata } from 'sharp';
import { MAX_PIXELS } from '../../imaging/limits.js';
import type { Decoded, OutFormat } from './types.js';
import { invalid, unusable } from './failures.js';

const READABLE = new Set(['png', 'jpeg', 'webp', 'avif', 'gif', 'tiff']);
const WRITABLE = new Set<OutFormat>(['png', 'jpeg', 'webp', 'avif']);

/** libvips calls AVIF "heif" with AV1 compression; HEIC stays unsupported. */
function formatOf(meta: Metadata): string {
  return meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heif') : String(meta.format);
}

/**
 * Decodes an input once to what every operation works on: oriented as displayed (EXIF applied,
 * so coordinates mean what a viewer shows), converted to sRGB through its ICC profile, 8-bit.
 * The pixel cap is checked from the header first and enforced by libvips during the decode.
 */
export async function decodeInput(bytes: Buffer, field: string, opts: { alpha?: boolean } = {}): Promise<Decoded> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw unusable(field, 'the file is not a supported image.');
  }
  const format = formatOf(meta);
  if (!READABLE.has(format) || !meta.width || !meta.height) throw unusable(field, `images in ${format} format cannot be processed.`);
  if (meta.width * meta.height > MAX_PIXELS) {
    throw invalid(field, `the image is ${meta.width} × ${meta.height} px; at most ${MAX_PIXELS / 1e6} megapixels are processed.`);
  }
  let img = sharp(bytes, { failOn: 'error', limitInputPixels: MAX_PIXELS }).autoOrient().toColourspace('srgb');
  if (opts.alpha) img = img.ensureAlpha();
  try {
    const { data, info } = await img.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) throw new Error(`unexpected ${info.channels} channels`);
    return { data, width: info.width, height: info.height, channels: info.channels, format };
  } catch {
    throw unusable(field, 'the image could not be decoded (damaged or truncated).');
  }
}

/** Outputs keep the input's format where we can write it; GIF and TIFF inputs become PNG. */
export function sameFormatAs(format: string): OutFormat {
  return WRITABLE.has(format as OutFormat) ? (format as OutFormat) : 'png';
}
