import type { PipelineDeps, PipelineRun } from './context.js';
import type { JobParams, StoredImageResult } from '../jobs/types.js';
import type { ProviderOutput } from '../providers/port.js';
import type { ProvenanceInput } from '../imaging/signing.js';
import { storeImage } from './store-image.js';
import { knockOutBackground } from '../imaging/transparency.js';
import { crashPoint } from '../util/crash.js';
import { rideOut } from '../util/ride-out.js';
import type { RouteRecord } from '../fleet/fallback.js';
import { cacheScope, lookupResult, recordResult } from './result-cache.js';
import { resolvedParams } from './resolved-params.js';

export interface ImageJobOutput {
  /** Stamped into the image's provenance and the job's result. */
  model: string;
  action: 'created' | 'edited';
  /** C2PA ingredients (edits and combines). */
  inputs?: ProvenanceInput[];
  /** A transparent graphic was promised: cut out a plain backdrop if the model painted one anyway. */
  knockOut: boolean;
  /** The result-cache key of this request (src/pipelines/result-cache.ts); given only when the model is cacheable. */
  cacheKey?: () => Promise<string>;
}

/** What the pipeline's generate step sent the backend, beside what came back. */
export interface Generated {
  output: ProviderOutput;
  route: RouteRecord | null;
  sent: { width: number; height: number };
}

/** Kept beside the raw output (`raw/params.json`), so a resumed attempt records and charges what the first one decided. */
interface KeptParams {
  params: JobParams;
  /** Served from the result cache: what it costs (fixed at the hit, so a resume charges the same). */
  cached?: { capture_micros: number; from_job: string };
}

/**
 * The crash-safe tail every single-image job shares. The provider's raw output is kept before
 * anything else, so an attempt resumed after a crash reuses it instead of paying the vendor
 * twice (`generate` runs only when nothing is kept); the formats are stored in the run's own
 * folder, after a check that the run still owns the job; settling is one fenced transaction. The crash points mark each gap between a side
 * effect and the next, and crash tests (test/e2e/crash-recovery.test.ts) kill the process there.
 * A cacheable model's identical earlier result is copied in place of the provider call (issue 22).
 */
export async function finishImageJob(deps: PipelineDeps, run: Pick<PipelineRun, 'job' | 'fence' | 'signal' | 'progress'>, generate: () => Promise<Generated>, out: ImageJobOutput): Promise<void> {
  const { job } = run;
  const rawKey = `jobs/${job.id}/raw/image.png`;
  // A rerouted job (src/fleet/fallback.ts): which model ran is kept before its output, so a resumed attempt charges it too.
  const routeKey = `jobs/${job.id}/raw/route.json`;
  const paramsKey = `jobs/${job.id}/raw/params.json`;
  const cache = out.cacheKey ? deps.catalogue.byId(out.model)?.cache : undefined;
  const scope = cache ? cacheScope(job.account_id, cache.shared) : null;
  // Only a run after the first can find a kept output (jobs.attempts counts runs, set by the start
  // transition): the first run skips the storage round trip that would only answer "absent".
  let raw = Number(job.attempts) > 1 ? await deps.blob.get(rawKey) : null;
  let route: RouteRecord | null = null;
  let kept: KeptParams | null = null;
  if (!raw) {
    let mime = 'image/png';
    const key = cache ? await out.cacheKey!() : null;
    const hit = key ? await lookupResult(deps.db, deps.blob, scope!, key) : null;
    if (hit) {
      kept = { params: hit.params, cached: { capture_micros: Math.min(cache!.priceMicros, Number(job.hold_micros)), from_job: hit.jobId } };
      raw = hit.bytes;
    } else {
      const got = await generate();
      // The backend is done; what remains is Easel's own (formats, provenance): say so, or the bar sits at its last step.
      run.progress?.finishing();
      route = got.route;
      crashPoint('after_provider_call');
      kept = { params: paramsOf(deps, route?.model ?? out.model, got) };
      raw = out.knockOut ? await knockOutBackground(got.output.bytes) : got.output.bytes;
      if (raw === got.output.bytes) mime = got.output.mime;
    }
    const bytes = raw;
    // The paid output exists only in memory until stored: a database or storage outage here is
    // waited out (src/util/ride-out.ts) rather than ending the run and paying the vendor again.
    // Route and params first: a kept raw output always has them beside it.
    await rideOut(async () => {
      await deps.jobs.assertOwned(run.fence);
      if (route) await deps.blob.put(routeKey, Buffer.from(JSON.stringify(route)), 'application/json');
      await deps.blob.put(paramsKey, Buffer.from(JSON.stringify(kept)), 'application/json');
      await deps.blob.put(rawKey, bytes, mime);
    }, run.signal);
    crashPoint('after_raw_stored');
  } else {
    const [r, p] = await Promise.all([deps.blob.get(routeKey), deps.blob.get(paramsKey)]);
    route = r ? (JSON.parse(r.toString('utf8')) as RouteRecord) : null;
    // Absent for a raw output kept by a build before issue 22: the job then shows no params.
    kept = p ? (JSON.parse(p.toString('utf8')) as KeptParams) : null;
  }
  const model = route?.model ?? out.model;
  await deps.jobs.assertOwned(run.fence);
  // Per run: a run that lost its claim can never replace the files another run recorded.
  const image = await storeImage(deps.blob, `jobs/${job.id}/run-${Number(job.attempts)}/image`, raw, { model, action: out.action, inputs: out.inputs });
  crashPoint('after_image_stored');
  // The price of the model that ran: a fallback never costs more than the hold (src/fleet/fallback.ts);
  // a cached result costs the model's cache price. The rest of the hold is released by complete.
  const capture = kept?.cached ? kept.cached.capture_micros : route ? Math.min(route.priceMicros, Number(job.hold_micros)) : Number(job.hold_micros);
  const completed = await deps.jobs.complete(run.fence, capture, (balanceAfter, charged): StoredImageResult => ({
    kind: 'image',
    model,
    image,
    cost_micros: charged,
    balance_after_micros: balanceAfter,
    ...(route ? { rerouted_from: route.reroutedFrom, reroute_reason: route.reason } : {}),
    ...(kept ? { params: kept.params } : {}),
    ...(kept?.cached ? { cached: true as const } : {}),
  }));
  crashPoint('after_job_completed');
  // A fresh result of the requested model answers the next identical request. Not a rerouted one:
  // the key names the requested model, whose pixels these are not. Outside the transaction: an
  // entry lost to a crash here only costs the next request a fresh generation.
  if (completed && cache && kept && !kept.cached && !route) {
    await recordResult(deps.db, { scope: scope!, key: await out.cacheKey!(), model, jobId: job.id, rawKey, params: kept.params });
  }
}

/** The job's params: the model that ran, the size sent, and what its backend reported (null where it said nothing). */
function paramsOf(deps: PipelineDeps, model: string, got: Generated): JobParams {
  return resolvedParams(model, deps.catalogue.byId(model)?.provider.adapterVersion ?? null, got.sent, got.output.params);
}
