import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { GenerateImageBody } from '../../contract/generation.js';
import { requireAuth } from '../auth.js';
import { EaselError, jobErrorToHttp } from '../../errors.js';
import type { ImageRequest } from '../../pipelines/image.js';
import { checkPrompt } from './moderate.js';
import { createExtras } from '../create-extras.js';
import { stillRunningAfterPrefer } from './sync-job.js';
import { JobAccepted } from '../prefer.js';
import { jobOptionsOf } from '../../jobs/options.js';

export function generateRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(JobAccepted);
  app.post(
    '/v1/generate/image',
    {
      schema: {
        summary: 'Generate an image (synchronous: the request waits for its job)',
        description:
          'Moderation first (403 content_rejected, nothing charged), then the price is held (402 if not covered), the image generated, stored and settled. The job id is in the X-Easel-Job-Id and X-Depicta-Job-Id headers; if the response is lost, the job still completes and is listed by GET /v1/jobs.',
        tags: ['generate'],
        body: GenerateImageBody,
        headers: CreateHeaders,
        response: { 200: Type.Ref('GenerationResponse'), 202: Type.Ref('JobAccepted'), ...errorResponses(400, 401, 402, 403, 404, 409, 413, 422, 429, 451, 500, 502, 503) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const body = req.body as Static<typeof GenerateImageBody>;
      const extras = await createExtras(s, req, body);
      const strictness = body.strictness ?? auth.strictness;
      checkPrompt(s, body.prompt, strictness);
      const model = s.catalogue.resolve(body.model, 'image');
      const request: ImageRequest = {
        prompt: body.prompt,
        model: model.id,
        aspect_ratio: body.aspect_ratio ?? '1:1',
        image_size: body.image_size ?? '1K',
        ...(body.seed !== undefined ? { seed: body.seed } : {}),
        ...(body.reference_images ? { reference_images: body.reference_images } : {}),
        ...(body.raw_prompt ? { raw_prompt: true } : {}),
      };
      if (!model.imageSizes.includes(request.image_size)) {
        throw new EaselError(422, 'validation_failed', `Model "${model.id}" does not offer image_size ${request.image_size}.`, {
          fields: [{ path: 'image_size', message: `must be one of ${model.imageSizes.join(', ')}` }],
        });
      }
      const job = await s.jobs.submit({
        accountId: auth.accountId,
        keyId: auth.keyId,
        operation: 'image',
        model: model.id,
        request,
        holdMicros: model.priceMicros,
        scenesTotal: 1,
        options: jobOptionsOf(body),
        idempotency: extras.idempotency,
        webhook: extras.webhook,
      });
      reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
      if (job.replayed) reply.header('idempotent-replayed', 'true');
      req.log.info({ job_id: job.id, replayed: job.replayed === true }, 'image job accepted');
      // The job runs in the queue whatever happens to this connection; we only wait for it.
      const prefer = stillRunningAfterPrefer(req, reply, job.id);
      const done = await s.jobs.waitForTerminal(job.id, Math.min(prefer?.waitS ?? Infinity, s.config.syncTimeoutS) * 1000);
      if (done && prefer && (done.status === 'pending' || done.status === 'processing')) return prefer.stillRunning();
      if (!done || done.status === 'pending' || done.status === 'processing') {
        throw new EaselError(
          503,
          'service_unavailable',
          `The image is taking longer than ${s.config.syncTimeoutS} s. It is still being generated: poll GET /v1/jobs/${job.id}.`,
          { job_id: job.id },
          { 'retry-after': '5' },
        );
      }
      if (done.status === 'completed') return s.presenter.result(done);
      const { status, error } = jobErrorToHttp(done.error_code);
      throw new EaselError(status, error, done.error_message ?? 'The generation failed.', {
        job_id: job.id,
        job_error_code: done.error_code,
      }, status === 503 ? { 'retry-after': '30' } : undefined);
    },
  );
}
