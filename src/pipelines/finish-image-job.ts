import type { PipelineDeps, PipelineRun } from './context.js';
import type { StoredImageResult } from '../jobs/types.js';
import type { ProviderOutput } from '../providers/port.js';
import type { ProvenanceInput } from '../imaging/signing.js';
import { storeImage } from './store-image.js';
import { knockOutBackground } from '../imaging/transparency.js';
import { crashPoint } from '../util/crash.js';

export interface ImageJobOutput {
  /** Stamped into the image's provenance and the job's result. */
  model: string;
  action: 'created' | 'edited';
  /** C2PA ingredients (edits and combines). */
  inputs?: ProvenanceInput[];
  /** A transparent graphic was promised: cut out a plain backdrop if the model painted one anyway. */
  knockOut: boolean;
}

/**
 * The crash-safe tail every single-image job shares. The provider's raw output is kept before
 * anything else, so an attempt resumed after a crash reuses it instead of paying the vendor
 * twice (`generate` runs only when nothing is kept); the formats are stored in the run's own
 * folder, after a check that the run still owns the job; settling is one fenced transaction. The crash points mark each gap between a side
 * effect and the next, and crash tests (test/e2e/crash-recovery.test.ts) kill the process there.
 */
export async function finishImageJob(deps: PipelineDeps, run: Pick<PipelineRun, 'job' | 'fence'>, generate: () => Promise<ProviderOutput>, out: ImageJobOutput): Promise<void> {
  const { job } = run;
  const rawKey = `jobs/${job.id}/raw/image.png`;
  let raw = await deps.blob.get(rawKey);
  if (!raw) {
    const generated = await generate();
    crashPoint('after_provider_call');
    raw = out.knockOut ? await knockOutBackground(generated.bytes) : generated.bytes;
    await deps.jobs.assertOwned(run.fence);
    await deps.blob.put(rawKey, raw, raw === generated.bytes ? generated.mime : 'image/png');
    crashPoint('after_raw_stored');
  }
  await deps.jobs.assertOwned(run.fence);
  // Per run: a run that lost its claim can never replace the files another run recorded.
  const image = await storeImage(deps.blob, `jobs/${job.id}/run-${Number(job.attempts)}/image`, raw, { model: out.model, action: out.action, inputs: out.inputs });
  crashPoint('after_image_stored');
  await deps.jobs.complete(run.fence, Number(job.hold_micros), (balanceAfter, charged): StoredImageResult => ({
    kind: 'image',
    model: out.model,
    image,
    cost_micros: charged,
    balance_after_micros: balanceAfter,
  }));
  crashPoint('after_job_completed');
}
