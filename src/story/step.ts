import type { PipelineDeps } from '../pipelines/context.js';
import type { ModelEntry } from '../providers/catalogue.js';
import type { ProviderOutput } from '../providers/port.js';
import type { StoredImage } from '../jobs/types.js';
import type { Strictness } from '../moderation/moderator.js';
import { JobFailure } from '../errors.js';
import { LeaseLost } from '../jobs/lease-lost.js';
import type { Fence } from '../jobs/transitions/context.js';
import { storeImage } from '../pipelines/store-image.js';
import { crashPoint } from '../util/crash.js';
import { storyKeys } from './stored.js';
import { rideOut } from '../util/ride-out.js';

export interface StoryContext {
  deps: PipelineDeps;
  jobId: string;
  model: ModelEntry;
  strictness: Strictness;
  unitPriceMicros: number;
  /** The claim this run holds: every write passes it, and the checks between steps ask whether it still owns the job. */
  fence: Fence;
  /** This run's attempt number: the folder its recorded files are written to. */
  attempt: number;
  signal: AbortSignal;
  /** No run of this job started before this one, so no raw output can be stored yet. */
  firstRun: boolean;
}

export interface ImageStep<T> {
  step: string;
  ordinal: number;
  /** For people: "Scene 4 of 6 (scenes[3])". */
  what: string;
  /** What the failure message adds about work that is kept. */
  kept: string;
  kind: 'portrait' | 'scene';
  /** Everything the model will be sent, judged again right before the call. */
  moderationText: string;
  generate: () => Promise<ProviderOutput>;
  output: (image: StoredImage) => T;
}

/**
 * One paid image is produced at most once, across crashes and retries, in two halves:
 *   generateRaw — the provider's output, stored under a deterministic key before anything else
 *     (a resumed run reuses it: the vendor is never paid twice for a stored image);
 *   finishImage — every format encoded and stored, then recorded and charged in one transaction.
 * The next step only needs the raw image, so the pipeline runs finishImage off the critical path.
 */
export async function generateRaw(ctx: StoryContext, s: ImageStep<unknown>): Promise<Buffer> {
  const { deps, jobId } = ctx;
  const rawKey = storyKeys.raw(jobId, s.step);
  // Both reads are round trips in scale-out (S3, PostgreSQL) before every step: made together, and
  // the storage one only when an earlier run may have left the output.
  const [stored, next] = await Promise.all([ctx.firstRun ? null : deps.blob.get(rawKey), deps.jobs.checkpoint(ctx.fence)]);
  // Another worker owns the job now (this one paused past its lease): spend nothing more on it.
  if (next === 'lost') throw new LeaseLost('checkpoint', jobId);
  if (stored) return stored;
  if (ctx.signal.aborted) throw new JobFailure('timeout', 'The run was interrupted before its next step.', true);
  // A cancel request stops the story between steps: the step in flight was finished, this one never starts.
  if (next === 'cancel') throw new JobFailure('canceled', 'Canceled by request.', false);
  // Again right before the call: rules (the operator blocklist) may have changed while the job waited.
  const verdict = deps.moderator.checkText(s.moderationText, ctx.strictness);
  if (!verdict.allowed) {
    throw new JobFailure('content_rejected', `${s.what} was rejected by content moderation (${verdict.category}) when its turn came, so it was not generated. ${s.kept}`, false);
  }
  let out: ProviderOutput;
  try {
    out = await s.generate();
  } catch (e) {
    // A step that will never succeed ends the story; say which step it was.
    if (e instanceof JobFailure && !e.retryable) throw new JobFailure(e.code, `${s.what} failed: ${e.message} ${s.kept}`, false, undefined, e.details);
    throw e;
  }
  crashPoint('story_after_provider_call');
  // The paid output is only in memory until stored: an outage here is waited out, not paid again.
  await rideOut(async () => {
    await deps.jobs.assertOwned(ctx.fence);
    await deps.blob.put(rawKey, out.bytes, out.mime);
  }, ctx.signal);
  crashPoint(`story_${s.kind}_raw_stored`);
  return out.bytes;
}

export async function finishImage<T>(ctx: StoryContext, s: ImageStep<T>, raw: Buffer): Promise<T> {
  const { deps, jobId } = ctx;
  await deps.jobs.assertOwned(ctx.fence);
  const image = await storeImage(deps.blob, storyKeys.image(jobId, s.step, ctx.attempt), raw, { model: ctx.model.id, action: 'created' });
  crashPoint(`story_${s.kind}_image_stored`);
  const output = s.output(image);
  const recorded = await deps.jobs.recordStep(ctx.fence, { step: s.step, ordinal: s.ordinal, output, costMicros: ctx.unitPriceMicros, countsAsScene: s.kind === 'scene' });
  crashPoint(`story_${s.kind}_recorded`);
  return recorded ? output : alreadyRecorded<T>(ctx, s.step);
}

/** An earlier run of this job recorded this step first: its record is the truth. */
async function alreadyRecorded<T>(ctx: StoryContext, step: string): Promise<T> {
  const row = (await ctx.deps.jobs.steps(ctx.jobId)).find((r) => r.step === step);
  if (!row) throw new JobFailure('internal_error', `step ${step} was neither recorded nor recordable`, true);
  return JSON.parse(row.output_json) as T;
}
