import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { CreateHeaders } from '../../contract/create-headers.js';
import { StoryAccepted, StoryBody, StoryResult } from '../../contract/story.js';
import { requireAuth } from '../auth.js';
import { validationFailed } from '../../errors.js';
import { normalizeStory, type StoryBodyIn } from '../../stories/request.js';
import { referenceUrls, validateStory } from '../../stories/validate.js';
import { checkInputUrls } from '../input-url.js';
import { planStory, portraitRatio } from '../../stories/plan.js';
import { submitTexts } from '../../stories/moderation.js';
import { checkPrompt } from './moderate.js';
import { createExtras } from '../create-extras.js';
import { preferWait } from '../prefer.js';
import { jobOptionsOf } from '../../jobs/options.js';

export function storyRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(StoryAccepted);
  app.addSchema(StoryResult);

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
      const auth = requireAuth(req);
      const body = req.body as StoryBodyIn;
      const extras = await createExtras(s, req, body as unknown as Record<string, unknown>);
      const model = s.catalogue.resolve(body.model, 'story', { multiturn: true });
      const story = normalizeStory(body, { model: model.id, unitPriceMicros: model.priceMicros, strictness: body.strictness ?? auth.strictness });
      const refs = referenceUrls(story);
      checkInputUrls(s, Object.fromEntries(refs.map((r) => [r.path, r.url])), refs.map((r) => r.path));
      const fields = validateStory(story, model);
      if (fields.length > 0) {
        const more = fields.length > 1 ? ` (and ${fields.length - 1} more)` : '';
        throw validationFailed(`${fields[0]!.path}: ${fields[0]!.message}${more}.`, { fields: fields.slice(0, 20) });
      }
      const plan = planStory(story, portraitRatio(model.aspectRatios, story.aspect_ratio));
      for (const t of submitTexts(story, plan)) checkPrompt(s, t.text, story.strictness, t.path);

      const job = await s.jobs.submit({
        requestId: req.id,
        accountId: auth.accountId,
        keyId: auth.keyId,
        operation: 'story',
        model: model.id,
        request: story,
        holdMicros: model.priceMicros * plan.billableSteps,
        scenesTotal: plan.scenes.length,
        options: jobOptionsOf(body),
        idempotency: extras.idempotency,
        webhook: extras.webhook,
      });
      req.log.info({ job_id: job.id, scenes: plan.scenes.length, references: plan.slots.length, replayed: job.replayed === true }, 'story job accepted');
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
