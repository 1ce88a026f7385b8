import sharp from 'sharp';
import { JobFailure } from '../../errors.js';
import type { ProviderOutput } from '../port.js';
import { malformed } from '../vendor/failure.js';

const MIME: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Bytes a server sent as "the image" must be one: sharp reads the header (PNG, JPEG or WebP) and
 * decodes every pixel, so a truncated or non-image body fails. The MIME type comes from the bytes.
 * Anything else → `malformed` (upstream_error, not retryable).
 */
export async function checkImage(vendor: string, bytes: Buffer): Promise<ProviderOutput & { width: number; height: number }> {
  if (bytes.length === 0) throw malformed(vendor, 'an empty image');
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
    if (meta.format && MIME[meta.format]) await sharp(bytes, { failOn: 'truncated' }).stats();
  } catch {
    throw malformed(vendor, 'an image that does not decode');
  }
  const mime = meta.format ? MIME[meta.format] : undefined;
  if (!mime || !meta.width || !meta.height) throw malformed(vendor, `an image in an unsupported format (${meta.format ?? 'unknown'})`);
  return { bytes, mime, width: meta.width, height: meta.height };
}

/** An input image as PNG (what LoadImage reads best); Easel's own inputs failing to decode is our bug. */
export async function inputAsPng(bytes: Buffer): Promise<Buffer> {
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.format === 'png') return bytes;
    return await sharp(bytes).autoOrient().png().toBuffer();
  } catch {
    throw new JobFailure('internal_error', 'The input image could not be decoded for the image server.', false);
  }
}
