import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { JobIdParams, Uuid, errorResponses } from '../../contract/common.js';
import { requireAuth } from '../auth.js';
import { EaselError, notFound } from '../../errors.js';
import { isoSeconds } from '../../util/time.js';
import { sceneRetryPrice } from '../../story/scenes.js';

const SceneParams = Type.Object({ id: Uuid, n: Type.Integer({ minimum: 0, maximum: 1000, description: '0-based scene index, as in the request (scenes[n]).' }) }, { additionalProperties: false });

/** Cancel, scene retry and URL re-signing (issue 7, part A). */
export function jobControlRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job',
        description:
          'Easel. A pending job is canceled at once: 200, status canceled, its whole hold returned, its queue task removed. ' +
          'A processing job answers 202 with cancel_requested_at set and ends canceled after the step in flight: a story finishes (and is charged for) the scene being generated, keeps its finished scenes and gets the rest of its hold back; ' +
          'a single image or processing operation finishes its provider call, and the result is discarded and not charged. ' +
          'A job that already ended answers 409 conflict (the code the spec gives a state conflict) with its status in details. Emits job.canceled when the job ends.',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), 202: Type.Ref('Job'), ...errorResponses(400, 401, 404, 409) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof JobIdParams>;
      const job = await s.jobs.cancel(id, auth.accountId);
      if (!job) throw notFound(`No job ${id}.`);
      req.log.info({ job_id: id, status: job.status }, 'cancel requested');
      return reply.code(job.status === 'canceled' ? 200 : 202).send(await s.presenter.job(job));
    },
  );

  app.post(
    '/v1/jobs/:id/scenes/:n/retry',
    {
      schema: {
        summary: 'Retry one scene of a failed story',
        description:
          'Easel. Re-generates scene n (0-based) of a failed story — a failed scene, or one the failure skipped — charging only that scene: one scene price is held (402 credit_insufficient if not covered; 422 max_cost_exceeded if it would pass the job\'s max_cost_eur). ' +
          'The job goes back to processing; when no scene is missing any more it completes with the full result, otherwise it fails again (scenes_incomplete) naming the scenes still missing. ' +
          '409 scene_not_retryable when the job is not a failed story, the scene is already completed, or the portraits were never finished; 409 result_expired after retention.',
        tags: ['jobs'],
        params: SceneParams,
        response: { 202: Type.Ref('Job'), ...errorResponses(400, 401, 402, 404, 409, 422) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { id, n } = req.params as Static<typeof SceneParams>;
      const job = await s.jobs.retryScene(id, auth.accountId, n, sceneRetryPrice);
      if (!job) throw notFound(`No job ${id}.`);
      req.log.info({ job_id: id, scene: n }, 'scene retry accepted');
      return reply.code(202).send(await s.presenter.job(job));
    },
  );

  app.post(
    '/v1/jobs/:id/urls',
    {
      schema: {
        summary: 'Re-sign a job\'s URLs',
        description:
          'Easel. Answers the job with freshly signed URLs (each valid EASEL_URL_TTL_S) for as long as its files are kept. ' +
          'After retention (result_expires_at) the files are deleted: 410 result_expired, and the job itself answers with result_expired: true and no URLs.',
        tags: ['jobs'],
        params: JobIdParams,
        response: { 200: Type.Ref('Job'), ...errorResponses(400, 401, 404, 410) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof JobIdParams>;
      const job = await s.jobs.getForAccount(id, auth.accountId);
      if (!job) throw notFound(`No job ${id}.`);
      if (job.result_expired_at != null || (job.result_expires_at != null && Number(job.result_expires_at) <= Date.now())) {
        throw new EaselError(410, 'result_expired', `Job ${id}'s files were kept until the end of its retention and have been deleted.`, {
          job_id: id,
          ...(job.result_expires_at != null ? { result_expires_at: isoSeconds(Number(job.result_expires_at)) } : {}),
        });
      }
      return s.presenter.job(job);
    },
  );
}
