import sharp from 'sharp';

/** A preview is a glance, not a result: at most this many pixels on its longer side. */
export const PREVIEW_MAX_PX = 256;

/**
 * A backend's intermediate frame (PNG, JPEG, WebP: whatever it sends) as a small WebP. Small so
 * that storing one a second per running job, and serving it to every poller, stays cheap.
 */
export async function encodePreview(bytes: Buffer): Promise<Buffer> {
  return sharp(bytes, { limitInputPixels: 4096 * 4096 })
    .resize(PREVIEW_MAX_PX, PREVIEW_MAX_PX, { fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 60, effort: 2 })
    .toBuffer();
}
