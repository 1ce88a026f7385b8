import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, errorResponses } from '../../contract/common.js';
import { JobList, JobListQuery } from '../../contract/jobs.js';
import { requireAuth } from '../auth.js';
import { notFound } from '../../errors.js';
import { jobFiltersOf } from '../../jobs/list-query.js';
import { pageRequest } from '../page-request.js';

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
        description:
          'Easel filters (all optional, combined with AND; total counts the filtered set): status and operation (comma-separated lists), created_after / created_before (RFC 3339, exclusive), metadata[key]=value (repeat for several keys). ' +
          'Easel cursor: next_cursor is the id of the page\'s last job when more follow (null on the last page); send it back as starting_after for the next page, with the same filters. ' +
          'A cursor page is read by position (id < starting_after), so jobs created meanwhile neither repeat nor skip a job; offset (Depicta) still works but slows down on deep pages of large accounts.',
        tags: ['jobs'],
        querystring: JobListQuery,
        response: { 200: JobList, ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const q = req.query as Static<typeof JobListQuery>;
      const page = pageRequest(q, 20);
      const filters = jobFiltersOf(q as Record<string, unknown>);
      // A UUID (checked by the schema) in the stored form: ids are lower-case, and text compares by case.
      const after = page.startingAfter?.toLowerCase();
      const { rows, total, more } = await s.jobs.list(auth.accountId, { limit: page.limit, offset: page.offset, after }, filters);
      const next_cursor = more ? rows[rows.length - 1]!.id : null;
      return { generations: await s.presenter.jobs(rows), limit: page.limit, offset: page.offset, total, next_cursor };
    },
  );
}
