import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { operationOf } from '../../pipelines/process/types.js';
import { awaitJobResult } from '../sync-job.js';
import { stillRunningAfterPrefer } from './sync-job.js';
import { PROCESS_OP_SPECS } from './process-ops.js';
import { createContext } from '../prepare/context.js';
import { prepareProcess } from '../prepare/process.js';
import { budgetsOf, describeBudgets } from '../../pipelines/process/budgets.js';

/**
 * `POST /v1/process/{op}`: free operations run as jobs like generations (history in GET /v1/jobs,
 * X-Easel-Job-Id), holding and charging nothing; the request waits for its job.
 */
export function processRoutes(app: FastifyInstance, s: Services): void {
  const budgets = budgetsOf(s.config);
  for (const spec of PROCESS_OP_SPECS) {
    const fields = Object.keys((spec.body as { properties: Record<string, unknown> }).properties);
    app.post(
      `/v1/process/${spec.op}`,
      {
        schema: {
          summary: spec.summary,
          description: `${spec.description} Free: nothing is held or charged. Runs as a job (operation ${operationOf(spec.op)}, id in X-Easel-Job-Id) on the worker slots of free processing (EASEL_PROCESS_CONCURRENCY; at most EASEL_MAX_CONCURRENT_FREE of an account's run at once, the rest wait); the request waits for it. ${describeBudgets(spec.op, budgets)}`,
          tags: ['process'],
          body: spec.body,
          headers: CreateHeaders,
          response: { 200: Type.Ref('ProcessResponse'), 202: Type.Ref('JobAccepted'), ...errorResponses(400, 401, 403, 404, 409, 413, 422, 429, 500, 503) },
        },
      },
      async (req, reply) => {
        const input = await prepareProcess(s, createContext(req), spec, req.body as Record<string, unknown>);
        const job = await s.jobs.submit({ ...input, requestId: req.id });
        reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
        if (job.replayed) reply.header('idempotent-replayed', 'true');
        req.log.info({ job_id: job.id, operation: operationOf(spec.op), replayed: job.replayed === true }, 'processing job accepted');
        return awaitJobResult(s, job.id, `${spec.op} operation`, fields, stillRunningAfterPrefer(req, reply, job.id));
      },
    );
  }
}
