import path from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { UploadResponse } from '../../contract/process.js';
import { requireAuth } from '../auth.js';
import { EaselError, badRequest } from '../../errors.js';
import { acceptSpooledUpload } from '../../uploads/accept.js';
import { UploadSpool, type SpooledFile } from '../../uploads/spool.js';
import { UploadQuota } from '../../uploads/quota.js';
import { Semaphore } from '../../util/semaphore.js';
import { dependencyFault } from '../../util/dependency-fault.js';

/** Room for the multipart envelope (boundaries, part headers) on top of the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

const tooLarge = (limit: number) =>
  new EaselError(413, 'payload_too_large', `The image is larger than ${limit} bytes, the upload limit.`, { limit_bytes: limit });

const onlyImage = (message: string, path = 'image') => badRequest(message, { fields: [{ path, message: 'send exactly one file, in the field "image"' }] });

/**
 * `POST /v1/upload`. @fastify/multipart is registered inside this encapsulated scope only, so
 * its content-type parser exists for this route alone and every JSON route keeps answering a
 * multipart body with 400. The file is streamed to a spool file with a byte cap (busboy cuts it at
 * the limit), never held in memory; other content types are let through unparsed so the handler
 * can say what to send instead. Checking a file (a full decode) is bounded per process by
 * EASEL_UPLOAD_CONCURRENCY: the other uploads wait on disk, not in memory.
 */
export function uploadRoutes(app: FastifyInstance, s: Services): void {
  const spool = new UploadSpool(path.join(s.config.dataDir, 'tmp', 'uploads'));
  spool.sweepStale().catch((e: unknown) => s.log.warn({ err: e }, 'could not clear old upload spool files'));
  const quota = new UploadQuota(s.db, s.store.driver, { dailyCount: s.config.uploadDailyCount, dailyBytes: s.config.uploadDailyBytes });
  const checks = new Semaphore(s.config.uploadConcurrency);
  const retentionH = +(s.config.uploadRetentionMs / 3_600_000).toFixed(4);
  app.register(async (scope) => {
    await scope.register(fastifyMultipart, {
      limits: { fileSize: s.config.maxUploadBytes, files: 2, fields: 10, fieldSize: 64 * 1024, parts: 12, headerPairs: 100 },
    });
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    scope.post(
      '/v1/upload',
      {
        schema: {
          summary: 'Upload an input image',
          description:
            `multipart/form-data with one file in the field "image": PNG, JPEG or WebP (decided by decoding, never by name or Content-Type; anything else is 415), at most EASEL_MAX_UPLOAD_BYTES (default 50 MB; 413 above). The image is moderated before it is stored (451 content_rejected). ` +
            `upload_url is signed for 1 hour and works as any input image URL (process, reference images). Free; not a job. ` +
            `Quotas per account per UTC day: at most EASEL_UPLOAD_DAILY_COUNT uploads (default 500; this server: ${s.config.uploadDailyCount || 'no limit'}) and EASEL_UPLOAD_DAILY_BYTES bytes (default 2 GiB; this server: ${s.config.uploadDailyBytes || 'no limit'}). ` +
            `An upload above either answers 429 rate_limited with details.quota (upload_count or upload_bytes), details.resets_at and Retry-After (seconds to the next UTC midnight), and nothing is stored; refused uploads (400, 413, 415, 422, 451) do not count. ` +
            `Uploads are deleted EASEL_UPLOAD_RETENTION_H hours after they were made (default 24; this server: ${retentionH}); after that the upload_url answers 404 and the URL no longer works as an input.`,
          tags: ['upload'],
          consumes: ['multipart/form-data'],
          body: Type.Object({ image: Type.String({ format: 'binary', description: 'The image file.' }) }, { required: ['image'] }),
          response: { 200: UploadResponse, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 451, 500, 503) },
        },
        // The body schema documents the form; the parts are read and checked by the handler.
        validatorCompiler: () => () => true,
      },
      async (req) => {
        const auth = requireAuth(req);
        const declared = Number(req.headers['content-length']);
        if (Number.isFinite(declared) && declared > s.config.maxUploadBytes + ENVELOPE_BYTES) throw tooLarge(s.config.maxUploadBytes);
        if (!req.isMultipart()) throw onlyImage('Send the image as multipart/form-data, in the field "image".');
        // Before a byte of the body is read: an account out of quota sends nothing more.
        await quota.precheck(auth.accountId, Number.isFinite(declared) ? declared - ENVELOPE_BYTES : 0);
        const file = await readImagePart(req, s.config.maxUploadBytes, spool);
        let up;
        try {
          up = await checks.run(() => acceptSpooledUpload({ blob: s.blob, moderator: s.moderator, quota }, auth.accountId, file, auth.strictness));
        } finally {
          await spool.remove(file);
        }
        const { url, expires_at } = await s.presenter.signedUrl(up.key);
        req.log.info({ upload_id: up.uploadId, bytes: up.sizeBytes }, 'upload stored');
        return { upload_id: up.uploadId, upload_url: url, expires_at, content_type: up.mime, width: up.width, height: up.height, size_bytes: up.sizeBytes };
      },
    );
  });
}

/** The one file part, spooled to disk; any other part, a second file or a broken body is a 400 (and the spool file is removed). */
async function readImagePart(req: FastifyRequest, limit: number, spool: UploadSpool): Promise<SpooledFile> {
  let file: SpooledFile | null = null;
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') throw badRequest(`"${part.fieldname}" is not a known field; send only the file, in the field "image".`, { fields: [{ path: part.fieldname, message: 'is not a known field' }] });
      if (part.fieldname !== 'image' || file) throw onlyImage('Send exactly one file, in the field "image".', part.fieldname);
      file = await spool.write(part.file);
      // busboy ends a file stream cut at the limit as if it were whole: the flag tells them apart.
      if (part.file.truncated) throw tooLarge(limit);
    }
  } catch (e) {
    if (file) await spool.remove(file);
    if (e instanceof EaselError) throw e;
    // The spool's disk is full (or gone): not the client's body; the error handler answers 503.
    if (dependencyFault(e)) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(limit);
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw onlyImage('Send exactly one file, in the field "image".');
    throw badRequest('The multipart body is malformed or was cut short.');
  }
  if (!file) throw onlyImage('The field "image" with a file is required.');
  return file;
}
