import type { Services } from '../../app.js';
import { preparedFor, type CreateContext, type PreparedSubmit } from './context.js';
import { validationFailed } from '../../errors.js';
import { normalizeStory, type StoryBodyIn } from '../../story/request.js';
import { referenceUrls, validateStory } from '../../story/validate.js';
import { planStory, portraitRatio } from '../../story/plan.js';
import { submitTexts } from '../../story/moderation.js';
import { checkInputUrls } from '../input-url.js';
import { checkPrompt } from './check-prompt.js';
import { createExtras } from '../create-extras.js';
import { jobOptionsOf } from '../../jobs/options.js';

/**
 * A story up to the submit: every name resolved and every text moderated before anything is
 * charged (422 validation_failed naming the path; 403/451 content_rejected). The price is the
 * model's unit price × (portraits to generate + scenes).
 */
export async function prepareStory(s: Services, ctx: CreateContext, body: StoryBodyIn): Promise<PreparedSubmit> {
  const extras = await createExtras(s, ctx, body as unknown as Record<string, unknown>);
  const model = s.catalogue.resolve(body.model, 'story', { multiturn: true });
  const story = normalizeStory(body, { model: model.id, unitPriceMicros: model.priceMicros, strictness: body.strictness ?? ctx.auth.strictness });
  const refs = referenceUrls(story);
  checkInputUrls(s, Object.fromEntries(refs.map((r) => [r.path, r.url])), refs.map((r) => r.path));
  const fields = validateStory(story, model);
  if (fields.length > 0) {
    const more = fields.length > 1 ? ` (and ${fields.length - 1} more)` : '';
    throw validationFailed(`${fields[0]!.path}: ${fields[0]!.message}${more}.`, { fields: fields.slice(0, 20) });
  }
  const plan = planStory(story, portraitRatio(model.aspectRatios, story.aspect_ratio));
  for (const t of submitTexts(story, plan)) checkPrompt(s, t.text, story.strictness, t.path);
  return {
    ...preparedFor(ctx, extras, jobOptionsOf(body)),
    operation: 'story',
    model: model.id,
    request: story,
    holdMicros: model.priceMicros * plan.billableSteps,
    scenesTotal: plan.scenes.length,
    // Planned once, here: the pipeline, the per-scene view and a scene retry read it from the job.
    plan,
  };
}
