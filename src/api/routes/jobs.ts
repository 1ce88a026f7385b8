import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, errorResponses } from '../../contract/common.js';
import { JobList, JobListQuery } from '../../contract/jobs.js';
import { requireAuth } from '../auth.js';
import { notFound } from '../../errors.js';
import { jobFiltersOf } from '../../jobs/list-query.js';

export function jobRoutes(app: FastifyInstance, s: Services): void {
  const getJob = async (id: string, accountId: string) => {
    const job = await s.jobs.getForAccount(id, accountId);
    if (!job) throw notFound(`No job ${id}.`);
    return s.presenter.job(job);
  };

  app.get(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'Get a job: status, progress, and its result or error',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => getJob((req.params as Static<typeof JobIdParams>).id, requireAuth(req).accountId),
  );

  app.get(
    '/v1/generate/story/:id',
    {
      schema: {
        summary: 'Poll a story job (same answer as GET /v1/jobs/{id})',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => getJob((req.params as Static<typeof JobIdParams>).id, requireAuth(req).accountId),
  );

  app.get(
    '/v1/jobs',
    {
      schema: {
        summary: 'List your jobs, newest first',
        description: 'Easel filters (all optional, combined with AND; total counts the filtered set): status and operation (comma-separated lists), created_after / created_before (RFC 3339, exclusive), metadata[key]=value (repeat for several keys).',
        tags: ['jobs'],
        querystring: JobListQuery,
        response: { 200: JobList, ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const q = req.query as Static<typeof JobListQuery>;
      const limit = q.limit ?? 20;
      const offset = q.offset ?? 0;
      const { rows, total } = await s.jobs.list(auth.accountId, limit, offset, jobFiltersOf(q as Record<string, unknown>));
      return { generations: await Promise.all(rows.map((r) => s.presenter.job(r))), limit, offset, total };
    },
  );
}
