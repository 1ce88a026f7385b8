import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { ProcessResponse } from '../../contract/process.js';
import { requireAuth } from '../auth.js';
import { EaselError } from '../../errors.js';
import { operationOf, type ProcessRequest } from '../../pipelines/process/types.js';
import { checkInputUrls } from '../input-url.js';
import { awaitJobResult } from '../sync-job.js';
import { PROCESS_OP_SPECS } from './process-ops.js';

const URL_FIELDS = ['input_image_url', 'overlay_image_url'] as const;

/**
 * `POST /v1/process/{op}`: free operations run as jobs like generations (history in GET /v1/jobs,
 * X-Easel-Job-Id), holding and charging nothing; the request waits for its job.
 */
export function processRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(ProcessResponse);
  for (const spec of PROCESS_OP_SPECS) {
    const fields = Object.keys((spec.body as { properties: Record<string, unknown> }).properties);
    app.post(
      `/v1/process/${spec.op}`,
      {
        schema: {
          summary: spec.summary,
          description: `${spec.description} Free: nothing is held or charged. Runs as a job (operation ${operationOf(spec.op)}, id in X-Easel-Job-Id); the request waits for it.`,
          tags: ['process'],
          body: spec.body,
          response: { 200: Type.Ref('ProcessResponse'), ...errorResponses(400, 401, 403, 404, 413, 422, 429, 500, 503) },
        },
      },
      async (req, reply) => {
        const auth = requireAuth(req);
        const { input_image_url, ...params } = req.body as Record<string, unknown>;
        checkInputUrls(s, { input_image_url, ...params }, URL_FIELDS);
        const problems = spec.check?.(params) ?? [];
        if (problems.length > 0) {
          throw new EaselError(422, 'validation_failed', `${problems[0]!.path}: ${problems[0]!.message}.`, { fields: problems });
        }
        const request: ProcessRequest = { op: spec.op, input_image_url: input_image_url as string, params, strictness: auth.strictness };
        const job = await s.jobs.submit({
          accountId: auth.accountId,
          keyId: auth.keyId,
          operation: operationOf(spec.op),
          model: null,
          request,
          holdMicros: 0,
          scenesTotal: 1,
        });
        reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
        req.log.info({ job_id: job.id, operation: operationOf(spec.op) }, 'processing job accepted');
        return awaitJobResult(s, job.id, `${spec.op} operation`, fields);
      },
    );
  }
}
