import sharp from 'sharp';
import { JobFailure } from '../../errors.js';
import type { InputImage, ProviderOutput } from '../port.js';
import { malformed } from './failure.js';

/** The image formats a vendor may hand back and that we accept as a result. */
const RESULT_MIME: Record<string, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Checks that bytes a vendor or image server sent as "the image" really are one: sharp must read
 * the header as PNG, JPEG or WebP, with a size, and decode every pixel (a truncated file fails).
 * The MIME type comes from the bytes, never from what the sender claimed. Anything else →
 * `malformed` (non-retryable upstream_error). The one such check: every adapter uses it.
 */
export async function validateVendorImage(vendor: string, bytes: Buffer): Promise<ProviderOutput> {
  if (bytes.length === 0) throw malformed(vendor, 'an empty image');
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(bytes).metadata();
    if (meta.format && RESULT_MIME[meta.format]) await sharp(bytes, { failOn: 'truncated' }).stats();
  } catch {
    throw malformed(vendor, 'an image that does not decode');
  }
  const mime = meta.format ? RESULT_MIME[meta.format] : undefined;
  if (!mime || !meta.width || !meta.height) throw malformed(vendor, `an image in an unsupported format (${meta.format ?? 'unknown'})`);
  return { bytes, mime };
}

/** Base64 (standard or URL-safe, whitespace tolerated) → validated image bytes; see validateVendorImage. */
export async function decodeBase64Image(vendor: string, b64: unknown): Promise<ProviderOutput> {
  if (typeof b64 !== 'string') throw malformed(vendor, 'an image field that is not a string');
  const clean = b64.replace(/\s+/g, '').replace(/-/g, '+').replace(/_/g, '/');
  if (clean.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(clean)) throw malformed(vendor, 'an image that is not base64');
  return validateVendorImage(vendor, Buffer.from(clean, 'base64'));
}

export interface VendorInputImage {
  bytes: Buffer;
  mime: 'image/png' | 'image/jpeg' | 'image/webp';
  /** File extension matching `mime`, for multipart filenames. */
  ext: 'png' | 'jpg' | 'webp';
}

/** Sniffs PNG / JPEG / WebP from the magic bytes (no decode). */
export function sniffImage(bytes: Buffer): VendorInputImage['mime'] | null {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 12 && bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return null;
}

const EXT = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp' } as const;

/**
 * An input image in a form every vendor here accepts: PNG, JPEG and WebP pass through untouched;
 * anything else sharp can read (GIF, AVIF, TIFF, …) is re-encoded to PNG. Input images are
 * Easel's own (stored, already checked), so one that does not decode is an internal error.
 */
export async function toVendorInput(image: InputImage): Promise<VendorInputImage> {
  const mime = sniffImage(image.bytes);
  if (mime) return { bytes: image.bytes, mime, ext: EXT[mime] };
  try {
    const bytes = await sharp(image.bytes).autoOrient().png().toBuffer();
    return { bytes, mime: 'image/png', ext: 'png' };
  } catch {
    throw new JobFailure('internal_error', 'An input image could not be decoded for the model vendor.', false);
  }
}

/**
 * An input image as PNG, for the self-hosted image servers (A1111's init_images, ComfyUI's
 * LoadImage read PNG best). Easel's own inputs failing to decode is our bug, not the server's.
 */
export async function inputAsPng(bytes: Buffer): Promise<Buffer> {
  try {
    const meta = await sharp(bytes).metadata();
    if (meta.format === 'png') return bytes;
    return await sharp(bytes).autoOrient().png().toBuffer();
  } catch {
    throw new JobFailure('internal_error', 'The input image could not be decoded for the image server.', false);
  }
}
