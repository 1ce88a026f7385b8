import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { GenerateImageBody } from '../../contract/generation.js';
import { submitAndWait } from './sync-job.js';
import { JobAccepted } from '../prefer.js';
import { createContext } from '../prepare/context.js';
import { prepareGeneration, type GenerationOperation } from '../prepare/generation.js';

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

/** Image, graphic and diagram: every check and the price (src/api/prepare/generation.ts), then the synchronous job. */
export async function submitGeneration(
  s: Services,
  req: FastifyRequest,
  reply: FastifyReply,
  body: Parameters<typeof prepareGeneration>[2],
  operation: GenerationOperation,
): Promise<Record<string, unknown>> {
  return submitAndWait(s, req, reply, await prepareGeneration(s, createContext(req), body, operation));
}
