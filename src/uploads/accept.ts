import sharp, { type Metadata } from 'sharp';
import type { BlobStore } from '../blob/port.js';
import type { Moderator, Strictness } from '../moderation/moderator.js';
import { EaselError } from '../errors.js';
import { EXT_OF, MIME_OF, sniffImageFormat } from '../contract/image-formats.js';
import { MAX_PIXELS } from '../imaging/limits.js';
import { newId } from '../util/ids.js';
import type { SpooledFile } from './spool.js';
import type { UploadQuota } from './quota.js';

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
 * The input files of multipart edit/combine requests come here (paid job inputs, in memory
 * within the body limit); `POST /v1/upload` uses acceptSpooledUpload.
 */
export async function acceptUpload(
  deps: { blob: BlobStore; moderator: Moderator },
  accountId: string,
  bytes: Buffer,
  strictness: Strictness,
): Promise<AcceptedUpload> {
  const c = await checkImage(deps.moderator, bytes, bytes, strictness);
  const uploadId = newId();
  const key = `uploads/${accountId}/${uploadId}.${EXT_OF[c.format]}`;
  const mime = MIME_OF[c.format]!;
  await deps.blob.put(key, bytes, mime);
  return { uploadId, key, mime, width: c.width, height: c.height, sizeBytes: bytes.length };
}

/**
 * `POST /v1/upload`: the same checks, read from the spooled file — sharp streams it, so memory
 * does not grow with the file — then the account's daily quotas (429, nothing stored). The row is
 * written before the blob: a crash between the two leaves a row the retention sweeper deletes,
 * never a blob no sweeper knows. The spooled file is the caller's to remove.
 */
export async function acceptSpooledUpload(
  deps: { blob: BlobStore; moderator: Moderator; quota: UploadQuota },
  accountId: string,
  file: SpooledFile,
  strictness: Strictness,
): Promise<AcceptedUpload> {
  const c = await checkImage(deps.moderator, file.path, file.head, strictness);
  const uploadId = newId();
  const key = `uploads/${accountId}/${uploadId}.${EXT_OF[c.format]}`;
  const mime = MIME_OF[c.format]!;
  await deps.quota.record({ id: uploadId, accountId, key, sizeBytes: file.size });
  try {
    await deps.blob.putFile(key, file.path, file.size, mime);
  } catch (e) {
    await deps.quota.forget(uploadId).catch(() => undefined);
    throw e;
  }
  return { uploadId, key, mime, width: c.width, height: c.height, sizeBytes: file.size };
}

/** Format from the magic bytes, then metadata, pixel bound, a full decode and moderation. `input` is the bytes or a file path. */
async function checkImage(moderator: Moderator, input: Buffer | string, head: Buffer, strictness: Strictness): Promise<{ format: string; width: number; height: number }> {
  const format = sniffImageFormat(head);
  if (!format) throw notAnImage('unrecognised content');
  let meta: Metadata;
  try {
    meta = await sharp(input).metadata();
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
    // Decodes every pixel (stats is a streaming sink, and sequential reading streams a file too,
    // so memory stays small) to prove the file whole.
    await sharp(input, { failOn: 'error', limitInputPixels: MAX_PIXELS, sequentialRead: true }).stats();
  } catch {
    throw notAnImage(`a damaged or truncated ${format.toUpperCase()}`);
  }
  const verdict = await moderator.checkImage(input, strictness);
  if (!verdict.allowed) {
    // Uploads answer 451 whatever the ground, as the contract's table says for the upload check.
    throw new EaselError(451, 'content_rejected', `The image was refused by the content check (${verdict.category ?? 'policy'}) and was not stored.`, {
      field: 'image',
      category: verdict.category,
      strictness,
      legal: verdict.legal === true,
    });
  }
  // Reported as displayed: every consumer applies the EXIF orientation first.
  const shown = meta.autoOrient ?? { width: meta.width, height: meta.height };
  return { format, width: shown.width, height: shown.height };
}
