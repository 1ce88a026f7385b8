import type { Pipeline } from '../pipelines/context.js';
import type { InputImage } from '../providers/port.js';
import type { StoryRequest } from './request.js';
import { portraitRatio, type RefSlot, type StoryPlan } from './plan.js';
import { storedPlan } from './stored-plan.js';
import { portraitText, sceneText } from './moderation.js';
import { storyKeys, storyStep, type PortraitOutput, type SceneOutput, type StoredStoryResult } from './stored.js';
import { finishImage, generateRaw, type ImageStep, type RawStep, type StoryContext } from './step.js';
import { TrailingWork } from '../pipelines/trailing-work.js';
import { fetchClientReferences } from './references.js';
import { defaultSeed } from '../pipelines/image.js';
import { JobFailure } from '../errors.js';
import { mapLimit } from '../util/map-limit.js';
import { crashPoint } from '../util/crash.js';

/** Earlier scenes sent with each scene. Providers trim further (Gemini keeps 6 by default); this bounds memory. */
const HISTORY_TURNS = 8;

/**
 * A story, in three phases, each skipping whatever an earlier run already recorded:
 *   1. client references: fetched once through the guarded resolver and kept (free);
 *   2. portraits: one per character and per state without a client reference, in parallel up to
 *      the provider's concurrency (they do not depend on each other);
 *   3. scenes, one after another: each is one turn of a multi-turn conversation (it gets the
 *      earlier scenes as history) plus the references of exactly the characters, states and
 *      location it shows. Scene n needs scene n-1's image, so scenes cannot overlap; the critical
 *      path is portrait waves + scenes × provider latency.
 * Encoding and recording an image only needs its raw output, so it trails behind (TrailingWork):
 * it starts once the next provider call is in flight, and never delays that call. Every image is
 * charged as it is recorded, so `complete` captures nothing more and releases only what was never
 * used.
 */
export const storyPipeline: Pipeline = async (deps, { job, fence, signal, progress }) => {
  const req = JSON.parse(job.request_json) as StoryRequest;
  const model = deps.catalogue.resolve(req.model, 'story', { multiturn: true });
  // Planned once, when the story was submitted; read from the job from then on.
  const plan = storedPlan(job, portraitRatio(model.aspectRatios, req.aspect_ratio));
  // attempts counts the runs started so far, this one included.
  const ctx: StoryContext = { deps, jobId: job.id, fence, attempt: Number(job.attempts), model, strictness: req.strictness, unitPriceMicros: req.unit_price_micros, signal, firstRun: Number(job.attempts) <= 1 };
  const done = new Map((await deps.jobs.steps(job.id)).map((r) => [r.step, JSON.parse(r.output_json) as PortraitOutput | SceneOutput]));
  const stored = async (step: string, fallback: PortraitOutput | SceneOutput): Promise<Buffer> =>
    (await deps.blob.get(storyKeys.raw(job.id, step))) ?? (await deps.blob.get(fallback.image.formats.png.key)) ?? missing(step);

  // 1. Client references.
  const client = await fetchClientReferences(deps, job.id, plan, signal);
  const refBytes = client.slots;
  const locationBytes = client.locations;

  // 2. Portraits.
  const portraits = new Map<number, PortraitOutput>();
  const trailing = new TrailingWork();
  await mapLimit(plan.slots.filter((s) => !s.clientUrl), Math.max(1, model.provider.capabilities.maxConcurrency), async (slot) => {
    const { step, ordinal } = storyStep.portrait(slot.index);
    const prior = done.get(step) as PortraitOutput | undefined;
    if (prior) {
      portraits.set(slot.index, prior);
      refBytes.set(slot.index, await stored(step, prior));
      return;
    }
    const spec: ImageStep<PortraitOutput> = {
      step,
      ordinal,
      what: `The reference portrait of "${slot.label}" (${slot.path})`,
      kept: 'Finished portraits are kept; no scene was started and the rest of the hold was returned.',
      kind: 'portrait',
      moderationText: portraitText(slot),
      sent: plan.portrait,
      generate: () =>
        issued(trailing, model.provider.generate({
          prompt: slot.prompt,
          ...plan.portrait,
          seed: defaultSeed(`${job.id}/${step}`),
          references: slot.baseSlot !== undefined ? [{ bytes: refBytes.get(slot.baseSlot)!, description: `${slot.character} as they usually look` }] : [],
          figures: [{ key: slot.key, appearance: slot.appearance }],
          portrait: true,
          signal,
        })),
      output: (image, params) => ({ kind: 'portrait', slot: slot.index, image, ...(params ? { params } : {}) }),
    };
    const raw = await generateRaw(ctx, spec);
    refBytes.set(slot.index, raw.bytes);
    trailing.defer(async () => void portraits.set(slot.index, await finishImage(ctx, spec, raw)));
  }).catch(async (e: unknown) => {
    await trailing.settle().catch(() => undefined);
    throw e;
  });

  // 3. Scenes. Each needs only the previous scene's raw image, so encoding and recording a scene
  // overlaps the next provider call, and no more: records stay in scene order, at most one behind.
  const scenes = new Map<number, SceneOutput>();
  const history: { prompt: string; image: InputImage }[] = [];
  try {
    for (const scene of plan.scenes) {
      const { step, ordinal } = storyStep.scene(scene.index);
      const prior = done.get(step) as SceneOutput | undefined;
      // A scene retry (POST /v1/jobs/{id}/scenes/{n}/retry) generates that one scene only.
      if (!prior && job.retry_scene != null && scene.index !== Number(job.retry_scene)) continue;
      let raw: RawStep;
      if (prior) {
        scenes.set(scene.index, prior);
        raw = { bytes: await stored(step, prior), params: prior.params ?? null };
      } else {
        trailing.check();
        crashPoint('story_before_scene');
        const spec: ImageStep<SceneOutput> = {
          step,
          ordinal,
          what: `Scene ${scene.index + 1} of ${plan.scenes.length} (${scene.path})`,
          kept: keptNote(scene.index),
          kind: 'scene',
          moderationText: sceneText(plan, scene),
          sent: { width: scene.width, height: scene.height },
          generate: () =>
            issued(trailing, model.provider.generate({
              prompt: scene.text,
              width: scene.width,
              height: scene.height,
              seed: defaultSeed(`${job.id}/${step}`),
              references: scene.location !== undefined && locationBytes.has(scene.location) ? [{ bytes: locationBytes.get(scene.location)!, description: `Location: ${plan.locations[scene.location]!.name}` }] : [],
              figures: scene.figures.map((f) => figureOf(plan.slots[f]!, refBytes.get(f)!)),
              history: history.slice(-HISTORY_TURNS),
              signal,
              // The story's bar spans its scenes: scene n's steps move it from n/N to (n+1)/N.
              ...(progress ? { onProgress: progress.sink({ scene: scene.index, of: plan.scenes.length }) } : {}),
            })),
          output: (image, params) => ({ kind: 'scene', index: scene.index, image, ...(params ? { params } : {}) }),
        };
        raw = await generateRaw(ctx, spec).catch(async (e: unknown) => {
          // A scene that will never succeed is recorded as failed (the per-scene view, scene retry).
          if (e instanceof JobFailure && !e.retryable && e.code !== 'canceled') await deps.jobs.recordFailedScene(fence, { step, ordinal, index: scene.index }, { code: e.code, message: e.message });
          throw e;
        });
        await trailing.settle();
        const r = raw;
        trailing.defer(async () => void scenes.set(scene.index, await finishImage(ctx, spec, r)));
      }
      history.push({ prompt: scene.text, image: { bytes: raw.bytes } });
    }
  } catch (e) {
    // Finished work is recorded (and charged) before the failure settles the job.
    await trailing.settle().catch(() => undefined);
    throw e;
  }
  await trailing.settle();
  const unfinished = plan.scenes.filter((s) => !scenes.has(s.index));
  if (unfinished.length > 0) {
    // Only after a scene retry: other scenes of the story are still to be retried.
    const list = unfinished.map((s) => s.index).join(', ');
    throw new JobFailure('scenes_incomplete', `Scene ${job.retry_scene} is finished; scene(s) ${list} are still missing. Retry each with POST /v1/jobs/${job.id}/scenes/{n}/retry.`, false);
  }

  // 4. Settle: every step was captured as it was recorded.
  await deps.jobs.complete(fence, 0, (balanceAfter, charged): StoredStoryResult => ({
    kind: 'story',
    model: model.id,
    scenes: plan.scenes.map((s) => {
      const out = scenes.get(s.index)!;
      return { prompt: s.prompt, image: out.image, ...(out.params ? { params: out.params } : {}) };
    }),
    refs: refsOf(plan, portraits),
    cost_micros: charged,
    balance_after_micros: balanceAfter,
  }));
  crashPoint('story_completed');
};

/** The provider call is on its way: the finishing work waiting for this moment may start. */
function issued<T>(trailing: TrailingWork, call: Promise<T>): Promise<T> {
  trailing.release();
  return call;
}

function figureOf(slot: RefSlot, bytes: Buffer) {
  return { key: slot.key, appearance: slot.appearance, reference: { bytes, description: `${slot.label}: reference` } };
}

function keptNote(index: number): string {
  const finished = index === 0 ? 'No scene was finished' : index === 1 ? 'Scene 1 is finished and kept' : `Scenes 1–${index} are finished and kept`;
  return `${finished}; the hold for the rest was returned.`;
}

function refsOf(plan: StoryPlan, portraits: Map<number, PortraitOutput>): StoredStoryResult['refs'] {
  return plan.slots.map((s) => ({
    name: s.label,
    character: s.character,
    ...(s.state !== undefined ? { state: s.state } : {}),
    ...(s.clientUrl ? { client_url: s.clientUrl } : portraitRef(portraits.get(s.index)!)),
  }));
}

function portraitRef(p: PortraitOutput): { png_key: string; params?: PortraitOutput['params'] } {
  return { png_key: p.image.formats.png.key, ...(p.params ? { params: p.params } : {}) };
}

function missing(step: string): never {
  throw new JobFailure('internal_error', `The stored image of step ${step} is missing from storage.`, false);
}
