import type { PipelineDeps } from '../pipelines/context.js';
import type { ModelEntry } from '../providers/catalogue.js';
import type { ProviderOutput } from '../providers/port.js';
import type { JobParams, StoredImage } from '../jobs/types.js';
import type { Strictness } from '../moderation/moderator.js';
import { JobFailure } from '../errors.js';
import { LeaseLost } from '../jobs/lease-lost.js';
import type { Fence } from '../jobs/transitions/context.js';
import { storeImage } from '../pipelines/store-image.js';
import { crashPoint } from '../util/crash.js';
import { storyKeys } from './stored.js';
import { rideOut } from '../util/ride-out.js';
import { resolvedParams } from '../pipelines/resolved-params.js';

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
  /** The size the call asks for: recorded in the step's params. */
  sent: { width: number; height: number };
  generate: () => Promise<ProviderOutput>;
  /** The step's record; `params` is null for a raw output kept by a build before issue 22. */
  output: (image: StoredImage, params: JobParams | null) => T;
}

/** A step's provider output, kept, with what produced it. */
export interface RawStep {
  bytes: Buffer;
  params: JobParams | null;
}

/**
 * One paid image is produced at most once, across crashes and retries, in two halves:
 *   generateRaw — the provider's output, stored under a deterministic key before anything else
 *     (a resumed run reuses it: the vendor is never paid twice for a stored image), with the
 *     step's params kept beside it, written at the same time (a resumed run records what the first one sent);
 *   finishImage — every format encoded and stored, then recorded and charged in one transaction.
 * The next step only needs the raw image, so the pipeline runs finishImage off the critical path.
 */
export async function generateRaw(ctx: StoryContext, s: ImageStep<unknown>): Promise<RawStep> {
  const { deps, jobId } = ctx;
  const rawKey = storyKeys.raw(jobId, s.step);
  const paramsKey = storyKeys.params(jobId, s.step);
  // Both reads are round trips in scale-out (S3, PostgreSQL) before every step: made together, and
  // the storage ones only when an earlier run may have left the output.
  const [stored, keptParams, next] = await Promise.all([
    ctx.firstRun ? null : deps.blob.get(rawKey),
    ctx.firstRun ? null : deps.blob.get(paramsKey),
    deps.jobs.checkpoint(ctx.fence),
  ]);
  // Another worker owns the job now (this one paused past its lease): spend nothing more on it.
  if (next === 'lost') throw new LeaseLost('checkpoint', jobId);
  // Params are written with the raw output, so a kept output has them (unless an older build, or a crash between the two writes, kept it alone).
  if (stored) return { bytes: stored, params: keptParams ? (JSON.parse(keptParams.toString('utf8')) as JobParams) : null };
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
  // A story runs one model: no fallback reroutes it (catalogue.resolve in the pipeline).
  const params = resolvedParams(ctx.model.id, ctx.model.provider.adapterVersion ?? null, s.sent, out.params);
  // The paid output is only in memory until stored: an outage here is waited out, not paid again.
  // Params and output are written together: this is on the story's critical path (the next step
  // waits for it), and in scale-out each write is an S3 round trip. A crash between the two can
  // keep an output without its params; a resumed run then records that step with no params, which
  // only describe the call (a story's price does not depend on them).
  await rideOut(async () => {
    await deps.jobs.assertOwned(ctx.fence);
    await Promise.all([deps.blob.put(paramsKey, Buffer.from(JSON.stringify(params)), 'application/json'), deps.blob.put(rawKey, out.bytes, out.mime)]);
  }, ctx.signal);
  crashPoint(`story_${s.kind}_raw_stored`);
  return { bytes: out.bytes, params };
}

export async function finishImage<T>(ctx: StoryContext, s: ImageStep<T>, raw: RawStep): Promise<T> {
  const { deps, jobId } = ctx;
  await deps.jobs.assertOwned(ctx.fence);
  const image = await storeImage(deps.blob, storyKeys.image(jobId, s.step, ctx.attempt), raw.bytes, { model: ctx.model.id, action: 'created' });
  crashPoint(`story_${s.kind}_image_stored`);
  // The params go into the step's record, in the same transaction as today (recordStep).
  const output = s.output(image, raw.params);
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
