import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyMultipart from '@fastify/multipart';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { UploadResponse } from '../../contract/process.js';
import { requireAuth } from '../auth.js';
import { EaselError, badRequest } from '../../errors.js';
import { acceptUpload } from '../../uploads/accept.js';

/** Room for the multipart envelope (boundaries, part headers) on top of the file itself. */
const ENVELOPE_BYTES = 64 * 1024;

const tooLarge = (limit: number) =>
  new EaselError(413, 'payload_too_large', `The image is larger than ${limit} bytes, the upload limit.`, { limit_bytes: limit });

const onlyImage = (message: string, path = 'image') => badRequest(message, { fields: [{ path, message: 'send exactly one file, in the field "image"' }] });

/**
 * `POST /v1/upload`. @fastify/multipart is registered inside this encapsulated scope only, so
 * its content-type parser exists for this route alone and every JSON route keeps answering a
 * multipart body with 400. The file is streamed with a byte cap (busboy cuts it at the limit),
 * never buffered past it; other content types are let through unparsed so the handler can say
 * what to send instead.
 */
export function uploadRoutes(app: FastifyInstance, s: Services): void {
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
          description: `multipart/form-data with one file in the field "image": PNG, JPEG or WebP (decided by decoding, never by name or Content-Type; anything else is 415), at most EASEL_MAX_UPLOAD_BYTES (default 50 MB; 413 above). The image is moderated before it is stored (451 content_rejected). upload_url is signed for 1 hour and works as any input image URL (process, reference images). Free; not a job.`,
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
        const bytes = await readImagePart(req, s.config.maxUploadBytes);
        const up = await acceptUpload({ blob: s.blob, moderator: s.moderator }, auth.accountId, bytes, auth.strictness);
        const { url, expires_at } = await s.presenter.signedUrl(up.key);
        req.log.info({ upload_id: up.uploadId, bytes: up.sizeBytes }, 'upload stored');
        return { upload_id: up.uploadId, upload_url: url, expires_at, content_type: up.mime, width: up.width, height: up.height, size_bytes: up.sizeBytes };
      },
    );
  });
}

/** The one file part, as bytes; any other part, a second file or a broken body is a 400. */
async function readImagePart(req: FastifyRequest, limit: number): Promise<Buffer> {
  let bytes: Buffer | null = null;
  try {
    for await (const part of req.parts()) {
      if (part.type !== 'file') throw badRequest(`"${part.fieldname}" is not a known field; send only the file, in the field "image".`, { fields: [{ path: part.fieldname, message: 'is not a known field' }] });
      if (part.fieldname !== 'image' || bytes) throw onlyImage('Send exactly one file, in the field "image".', part.fieldname);
      bytes = await part.toBuffer();
    }
  } catch (e) {
    if (e instanceof EaselError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(limit);
    if (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT') throw onlyImage('Send exactly one file, in the field "image".');
    throw badRequest('The multipart body is malformed or was cut short.');
  }
  if (!bytes) throw onlyImage('The field "image" with a file is required.');
  return bytes;
}
