import type { PipelineDeps, PipelineRun } from './context.js';
import type { StoredImageResult } from '../jobs/types.js';
import type { ProviderOutput } from '../providers/port.js';
import type { ProvenanceInput } from '../imaging/signing.js';
import { storeImage } from './store-image.js';
import { knockOutBackground } from '../imaging/transparency.js';
import { crashPoint } from '../util/crash.js';
import { rideOut } from '../util/ride-out.js';
import type { RouteRecord } from '../fleet/fallback.js';

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
export async function finishImageJob(
  deps: PipelineDeps,
  run: Pick<PipelineRun, 'job' | 'fence' | 'signal'>,
  generate: () => Promise<ProviderOutput | { output: ProviderOutput; route: RouteRecord | null }>,
  out: ImageJobOutput,
): Promise<void> {
  const { job } = run;
  const rawKey = `jobs/${job.id}/raw/image.png`;
  // A rerouted job (src/fleet/fallback.ts): which model ran is kept before its output, so a resumed attempt charges it too.
  const routeKey = `jobs/${job.id}/raw/route.json`;
  let raw = await deps.blob.get(rawKey);
  let route: RouteRecord | null = null;
  if (!raw) {
    const got = await generate();
    const generated = 'output' in got ? got.output : got;
    route = 'output' in got ? got.route : null;
    crashPoint('after_provider_call');
    const kept = out.knockOut ? await knockOutBackground(generated.bytes) : generated.bytes;
    raw = kept;
    // The paid output exists only in memory until stored: a database or storage outage here is
    // waited out (src/util/ride-out.ts) rather than ending the run and paying the vendor again.
    await rideOut(async () => {
      await deps.jobs.assertOwned(run.fence);
      if (route) await deps.blob.put(routeKey, Buffer.from(JSON.stringify(route)), 'application/json');
      await deps.blob.put(rawKey, kept, kept === generated.bytes ? generated.mime : 'image/png');
    }, run.signal);
    crashPoint('after_raw_stored');
  } else {
    const kept = await deps.blob.get(routeKey);
    route = kept ? (JSON.parse(kept.toString('utf8')) as RouteRecord) : null;
  }
  const model = route?.model ?? out.model;
  await deps.jobs.assertOwned(run.fence);
  // Per run: a run that lost its claim can never replace the files another run recorded.
  const image = await storeImage(deps.blob, `jobs/${job.id}/run-${Number(job.attempts)}/image`, raw, { model, action: out.action, inputs: out.inputs });
  crashPoint('after_image_stored');
  // The price of the model that ran: a fallback never costs more than the hold (src/fleet/fallback.ts).
  const capture = route ? Math.min(route.priceMicros, Number(job.hold_micros)) : Number(job.hold_micros);
  await deps.jobs.complete(run.fence, capture, (balanceAfter, charged): StoredImageResult => ({
    kind: 'image',
    model,
    image,
    cost_micros: charged,
    balance_after_micros: balanceAfter,
    ...(route ? { rerouted_from: route.reroutedFrom, reroute_reason: route.reason } : {}),
  }));
  crashPoint('after_job_completed');
}
