import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { ProcessResponse } from '../../contract/process.js';
import { requireAuth } from '../auth.js';
import { EaselError } from '../../errors.js';
import { operationOf, type ProcessRequest } from '../../pipelines/process/types.js';
import { checkInputUrls } from '../input-url.js';
import { awaitJobResult } from '../sync-job.js';
import { createExtras, withoutWebhookFields } from '../create-extras.js';
import { stillRunningAfterPrefer } from './sync-job.js';
import { PROCESS_OP_SPECS } from './process-ops.js';
import { takeJobOptions } from '../../jobs/options.js';

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
          headers: CreateHeaders,
          response: { 200: Type.Ref('ProcessResponse'), 202: Type.Ref('JobAccepted'), ...errorResponses(400, 401, 403, 404, 409, 413, 422, 429, 500, 503) },
        },
      },
      async (req, reply) => {
        const auth = requireAuth(req);
        // max_cost_eur, metadata, retention_days belong to the job, not to the operation's parameters.
        const extras = await createExtras(s, req, req.body as Record<string, unknown>);
        const { options, rest } = takeJobOptions(withoutWebhookFields(req.body as Record<string, unknown>));
        const { input_image_url, ...params } = rest;
        checkInputUrls(s, { input_image_url, ...params }, URL_FIELDS);
        const problems = spec.check?.(params) ?? [];
        if (problems.length > 0) {
          throw new EaselError(422, 'validation_failed', `${problems[0]!.path}: ${problems[0]!.message}.`, { fields: problems });
        }
        const request: ProcessRequest = { op: spec.op, input_image_url: input_image_url as string, params, strictness: auth.strictness };
        const job = await s.jobs.submit({
          requestId: req.id,
          accountId: auth.accountId,
          keyId: auth.keyId,
          operation: operationOf(spec.op),
          model: null,
          request,
          holdMicros: 0,
          scenesTotal: 1,
          options,
          idempotency: extras.idempotency,
          webhook: extras.webhook,
        });
        reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
        if (job.replayed) reply.header('idempotent-replayed', 'true');
        req.log.info({ job_id: job.id, operation: operationOf(spec.op), replayed: job.replayed === true }, 'processing job accepted');
        return awaitJobResult(s, job.id, `${spec.op} operation`, fields, stillRunningAfterPrefer(req, reply, job.id));
      },
    );
  }
}
