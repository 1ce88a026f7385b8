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

/** A base64 image as A1111 returns it (plain, or a `data:image/…;base64,` URL) → checked bytes. */
export async function checkBase64Image(vendor: string, value: unknown): Promise<ProviderOutput & { width: number; height: number }> {
  if (typeof value !== 'string') throw malformed(vendor, 'an image that is not a base64 string');
  const b64 = value.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '').replace(/\s+/g, '');
  if (b64 === '' || b64.length % 4 === 1 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw malformed(vendor, 'an image that is not base64');
  return checkImage(vendor, Buffer.from(b64, 'base64'));
}

/** An input image as PNG; Easel's own inputs failing to decode is our bug, not the server's. */
export async function inputAsPng(bytes: Buffer): Promise<Buffer> {
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.format === 'png') return bytes;
    return await sharp(bytes).autoOrient().png().toBuffer();
  } catch {
    throw new JobFailure('internal_error', 'The input image could not be decoded for the image server.', false);
  }
}
