import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, Uuid, errorResponses } from '../../contract/common.js';
import { requireAuth } from '../auth.js';
import { EaselError, forbidden, notFound } from '../../errors.js';
import { readProgress } from '../../progress/stored.js';
import { PREVIEW_FILE_RE, previewKey } from '../../progress/preview-urls.js';
import type { JobRow } from '../../jobs/row.js';

const PreviewParams = Type.Object(
  { job_id: Uuid, file: Type.String({ pattern: '^r[0-9]{1,6}-[0-9]{1,9}\\.webp$', description: 'The frame, as named in progress.preview_url.' }) },
  { additionalProperties: false },
);
const SignedQuery = Type.Object(
  { exp: Type.String({ pattern: '^[0-9]{1,12}$' }), sig: Type.String({ maxLength: 128 }) },
  { additionalProperties: false },
);
const webp = { 200: { description: 'The frame: a WebP at most 256 px on its longer side.', content: { 'image/webp': { schema: Type.String({ format: 'binary' }) } } } };
const GONE = 'No preview: the job is not running, or it has not sent a frame yet (previews exist only while a job runs).';

/** The current frame's key of a running job, if it has one. */
function currentFrame(job: JobRow | undefined): string | undefined {
  if (!job || job.status !== 'processing') return undefined;
  return readProgress(job.progress_json, Number(job.attempts))?.preview_key;
}

/**
 * Live preview frames (issue 22). Two doors to the same bytes: `progress.preview_url`, signed like
 * result URLs (no key needed, so an <img> can show it), and GET /v1/jobs/{id}/preview with the
 * account's key. Both answer only while the job runs and only its current frame: a frame is never
 * visible after its job ended, and never to another account (404, as for its job).
 */
export function previewRoutes(app: FastifyInstance, s: Services): void {
  const send = async (reply: FastifyReply, key: string) => {
    const bytes = await s.blob.get(key);
    if (!bytes) throw notFound(GONE);
    return reply.header('content-type', 'image/webp').header('cache-control', 'no-store').send(bytes);
  };

  app.get(
    '/v1/jobs/:id/preview',
    {
      schema: {
        summary: 'The running job\'s current preview frame (Easel)',
        description: 'The latest intermediate frame the backend sent, as a small WebP. 404 when the job is not running or has no frame yet; the frame changes about once a second while the job runs.',
        tags: ['jobs'],
        params: JobIdParams,
        response: { ...webp, ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof JobIdParams>;
      const job = await s.jobs.getForAccount(id, auth.accountId);
      if (!job) throw notFound(`No job ${id}.`);
      const key = currentFrame(job);
      if (!key) throw notFound(GONE);
      return send(reply, key);
    },
  );

  app.get(
    '/v1/previews/:job_id/:file',
    {
      config: { public: true },
      schema: {
        summary: 'A preview frame by its signed URL (progress.preview_url; no key)',
        description: 'Signed like result URLs (exp, sig). Answers only while the job runs and the frame is its current one; 404 after (a newer frame or the job ended), 403 for a bad or expired signature.',
        tags: ['jobs'],
        params: PreviewParams,
        querystring: SignedQuery,
        response: { ...webp, ...errorResponses(400, 403, 404) },
      },
    },
    async (req, reply) => {
      const { job_id: jobId, file } = req.params as Static<typeof PreviewParams>;
      const q = req.query as Static<typeof SignedQuery>;
      if (!PREVIEW_FILE_RE.test(file)) throw forbidden('This preview URL is not valid.');
      const key = previewKey(jobId, file);
      const verdict = s.signer.verify(key, q.exp, q.sig);
      if (verdict === 'invalid') throw forbidden('This preview URL is not valid (bad or missing signature).');
      if (verdict === 'expired') throw new EaselError(403, 'forbidden', 'This preview URL has expired; fetch the job again for a fresh one.', { expired: true });
      if (currentFrame(await s.jobs.get(jobId)) !== key) throw notFound(GONE);
      return send(reply, key);
    },
  );
}
