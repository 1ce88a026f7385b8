import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { GenerateImageBody } from '../../contract/generation.js';
import { requireAuth } from '../auth.js';
import type { ImageRequest } from '../../pipelines/image.js';
import { checkPrompt } from './moderate.js';
import { createExtras } from '../create-extras.js';
import { checkImageSize, submitAndWait } from './sync-job.js';
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
    async (req, reply) => submitGeneration(s, req, reply, req.body as Static<typeof GenerateImageBody>, 'image'),
  );
}

/**
 * The generate contract shared by image, graphic and diagram: moderation (nothing charged on a
 * refusal), the model for the operation, its size check, then the synchronous job. `extra` carries
 * what a kind adds to the image request (a diagram type, a transparent background).
 */
export async function submitGeneration(
  s: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  body: Static<typeof GenerateImageBody>,
  operation: 'image' | 'graphic' | 'diagram',
  extra: Partial<ImageRequest> = {},
): Promise<Record<string, unknown>> {
  const auth = requireAuth(req);
  const extras = await createExtras(s, req, body);
  checkPrompt(s, body.prompt, body.strictness ?? auth.strictness);
  const model = s.catalogue.resolve(body.model, operation);
  const request: ImageRequest = {
    prompt: body.prompt,
    model: model.id,
    aspect_ratio: body.aspect_ratio ?? '1:1',
    image_size: body.image_size ?? '1K',
    ...extra,
    ...(body.seed !== undefined ? { seed: body.seed } : {}),
    ...(body.reference_images ? { reference_images: body.reference_images } : {}),
    ...(body.raw_prompt ? { raw_prompt: true } : {}),
  };
  checkImageSize(model, request.image_size);
  return submitAndWait(s, req, reply, {
    accountId: auth.accountId,
    keyId: auth.keyId,
    operation,
    model: model.id,
    request,
    holdMicros: model.priceMicros,
    scenesTotal: 1,
    options: jobOptionsOf(body),
    idempotency: extras.idempotency,
    webhook: extras.webhook,
  });
}
