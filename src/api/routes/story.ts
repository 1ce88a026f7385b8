import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { StoryAccepted, StoryBody } from '../../contract/story.js';
import type { StoryBodyIn } from '../../story/request.js';
import { preferWait } from '../prefer.js';
import { createContext } from '../prepare/context.js';
import { prepareStory } from '../prepare/story.js';

export function storyRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(StoryAccepted);

  app.post(
    '/v1/generate/story',
    {
      schema: {
        summary: 'Generate a story: reference portraits, then consistent scenes (asynchronous)',
        description:
          'Every name is resolved and every text moderated before anything is charged (422 validation_failed naming the path; 403/451 content_rejected). ' +
          'The hold is the model price × (portraits to generate + scenes); each portrait and scene is charged as it is stored, and a failed story returns the rest. ' +
          'Answers 202 {job_id, poll_url}; poll GET /v1/generate/story/{id} (or /v1/jobs/{id}) until completed or failed. The completed job\'s result is a StoryResult.',
        tags: ['generate'],
        body: StoryBody,
        headers: CreateHeaders,
        response: { 200: Type.Ref('Job'), 202: Type.Ref('StoryAccepted'), ...errorResponses(400, 401, 402, 403, 404, 409, 413, 422, 429, 451, 500, 503) },
      },
    },
    async (req, reply) => {
      const input = await prepareStory(s, createContext(req), req.body as StoryBodyIn);
      const job = await s.jobs.submit({ ...input, requestId: req.id });
      req.log.info({ job_id: job.id, scenes: input.scenesTotal, replayed: job.replayed === true }, 'story job accepted');
      reply.header('x-easel-job-id', job.id).header('x-depicta-job-id', job.id);
      if (job.replayed) reply.header('idempotent-replayed', 'true');
      // Prefer: wait=N — the finished job (200, the GET /v1/jobs/{id} view) if it ends within N s.
      const waitS = preferWait(req, reply);
      if (waitS !== null && waitS > 0) {
        const done = await s.jobs.waitForTerminal(job.id, waitS * 1000);
        if (done && (done.status === 'completed' || done.status === 'failed' || done.status === 'canceled')) return reply.code(200).send(await s.presenter.job(done));
      }
      return reply.code(202).send({ job_id: job.id, poll_url: `/v1/generate/story/${job.id}` });
    },
  );
}
