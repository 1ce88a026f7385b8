import sharp, { type Metadata } from 'sharp';
import type { BlobStore } from '../blob/port.js';
import type { Moderator, Strictness } from '../moderation/moderator.js';
import { EaselError } from '../errors.js';
import { EXT_OF, MIME_OF, sniffImageFormat } from '../contract/image-formats.js';
import { MAX_PIXELS } from '../imaging/limits.js';
import { newId } from '../util/ids.js';

export interface AcceptedUpload {
  uploadId: string;
  key: string;
  mime: string;
  width: number;
  height: number;
  sizeBytes: number;
}

const notAnImage = (why: string) =>
  new EaselError(415, 'bad_request', `The file is not a PNG, JPEG or WebP image (${why}). The type is decided from the file's content, not its name or Content-Type.`, {
    fields: [{ path: 'image', message: 'must be a PNG, JPEG or WebP image' }],
  });

/**
 * An upload is kept only if it proves to be one of the three formats (magic bytes, then a full
 * decode, which also catches truncated files) and the moderator allows it. Nothing is stored
 * before both checks pass; the bytes are stored as sent, so nothing is lost to re-encoding.
 */
export async function acceptUpload(
  deps: { blob: BlobStore; moderator: Moderator },
  accountId: string,
  bytes: Buffer,
  strictness: Strictness,
): Promise<AcceptedUpload> {
  const format = sniffImageFormat(bytes);
  if (!format) throw notAnImage('unrecognised content');
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw notAnImage(`not a decodable ${format.toUpperCase()}`);
  }
  if (meta.format !== format || !meta.width || !meta.height) throw notAnImage(`not a decodable ${format.toUpperCase()}`);
  if (meta.width * meta.height > MAX_PIXELS) {
    throw new EaselError(422, 'validation_failed', `The image is ${meta.width} × ${meta.height} px; at most ${MAX_PIXELS / 1e6} megapixels are accepted.`, {
      fields: [{ path: 'image', message: `must be at most ${MAX_PIXELS / 1e6} megapixels` }],
    });
  }
  try {
    // Decodes every pixel (stats is a streaming sink, so memory stays small) to prove the file whole.
    await sharp(bytes, { failOn: 'error', limitInputPixels: MAX_PIXELS }).stats();
  } catch {
    throw notAnImage(`a damaged or truncated ${format.toUpperCase()}`);
  }
  const verdict = await deps.moderator.checkImage(bytes, strictness);
  if (!verdict.allowed) {
    // Uploads answer 451 whatever the ground, as the contract's table says for the upload check.
    throw new EaselError(451, 'content_rejected', `The image was refused by the content check (${verdict.category ?? 'policy'}) and was not stored.`, {
      field: 'image',
      category: verdict.category,
      strictness,
      legal: verdict.legal === true,
    });
  }
  const uploadId = newId();
  const key = `uploads/${accountId}/${uploadId}.${EXT_OF[format]}`;
  const mime = MIME_OF[format]!;
  await deps.blob.put(key, bytes, mime);
  // Reported as displayed: every consumer applies the EXIF orientation first.
  const shown = meta.autoOrient ?? { width: meta.width, height: meta.height };
  return { uploadId, key, mime, width: shown.width, height: shown.height, sizeBytes: bytes.length };
}
