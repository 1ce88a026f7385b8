import type { Selectable } from 'kysely';
import type { JobStepTable } from '../store/schema.js';
import type { JobRow } from '../jobs/row.js';
import type { FormatView, ResultUrls } from '../jobs/result-urls.js';
import type { SceneOutput, StoredStoryResult } from './stored.js';
import type { JobParams } from '../jobs/types.js';
import { storedPlan } from './stored-plan.js';
import { microsToEur } from '../util/money.js';
import type { FailedSceneOutput } from './scenes.js';

export type StepRow = Selectable<JobStepTable>;

/**
 * A completed story's `result`. Character references come twice, as the contract asks:
 * `character_refs` {name, url, expires_at} and `characters` {name, reference_url, expires_at}.
 * A state is its own reference named "Name (state)", with `character` and `state` beside it for
 * clients that would rather not parse the name. A client's own reference is returned as given,
 * with `expires_at: null` (its lifetime is not ours to know).
 */
export async function presentStoryResult(p: ResultUrls, jobId: string, r: StoredStoryResult): Promise<Record<string, unknown>> {
  const now = Date.now();
  const refs = await Promise.all(
    r.refs.map(async (ref) => {
      const signed = ref.png_key ? await p.signedUrl(ref.png_key, now) : { url: ref.client_url!, expires_at: null };
      return { name: ref.name, url: signed.url, expires_at: signed.expires_at, character: ref.character, ...(ref.state !== undefined ? { state: ref.state } : {}), ...withParams(ref) };
    }),
  );
  return {
    id: jobId,
    ai_generated: true,
    scenes: await Promise.all(r.scenes.map(async (s) => ({ prompt: s.prompt, ...sceneImages(await p.formats(s.image, now)), ...withParams(s) }))),
    character_refs: refs,
    characters: refs.map(({ url, ...rest }) => ({ name: rest.name, reference_url: url, expires_at: rest.expires_at, character: rest.character, ...(rest.state !== undefined ? { state: rest.state } : {}), ...withParams(rest) })),
    cost_eur: microsToEur(r.cost_micros),
    balance_eur: microsToEur(r.balance_after_micros),
    model: r.model,
  };
}

/** Issue 22: a generated portrait's or scene's params, when its step recorded them (steps recorded before issue 22 have none). */
function withParams(x: { params?: JobParams }): { params?: JobParams } {
  return x.params ? { params: x.params } : {};
}

/**
 * A scene's files: `images` maps each format to its URL, as the Depicta stories guide reads
 * `scenes[i].images.png`; `formats` keeps each file's detail (size, hash, expiry) beside it, in
 * the shape image results use.
 */
export function sceneImages(formats: Record<string, FormatView>): { images: Record<string, string>; formats: Record<string, FormatView> } {
  return { images: Object.fromEntries(Object.entries(formats).map(([fmt, f]) => [fmt, f.url])), formats };
}

export interface SceneProgress {
  index: number;
  status: 'completed' | 'pending' | 'processing' | 'failed' | 'skipped' | 'canceled';
  prompt: string;
  cost_eur?: string;
  images?: Record<string, string>;
  formats?: Record<string, FormatView>;
  error?: { code: string; message: string };
  params?: JobParams;
}

/**
 * The Easel `scenes` extension of a story job that has not completed: finished scenes with
 * their cost and images (so a failed story's work stays retrievable, until its files expire),
 * the scene being generated (processing), failed scenes with their error (recorded when they
 * failed; for older jobs, the scene that stopped the story), and the rest pending (still to
 * come), skipped (a failed story never reached them) or canceled.
 */
/** A story's character portraits: drawn so far, and to draw (client references are not drawn). */
export function storyPortraits(job: JobRow, steps: StepRow[]): { completed: number; total: number } {
  let completed = 0;
  for (const s of steps) {
    if (s.status !== 'completed') continue;
    const out = JSON.parse(s.output_json) as { kind?: string };
    if (out.kind === 'portrait') completed++;
  }
  return { completed, total: storedPlan(job).slots.filter((s) => !s.clientUrl).length };
}

export async function presentStoryProgress(p: ResultUrls, job: JobRow, steps: StepRow[]): Promise<SceneProgress[]> {
  const plan = storedPlan(job);
  const finished = new Map<number, { out: SceneOutput; cost: number }>();
  const failed = new Map<number, { code: string; message: string }>();
  let portraitsDone = 0;
  for (const s of steps) {
    const out = JSON.parse(s.output_json) as SceneOutput | FailedSceneOutput | { kind: 'portrait' };
    if (out.kind === 'portrait') {
      if (s.status === 'completed') portraitsDone++;
    } else if (s.status === 'failed' && 'error' in out) failed.set(out.index, out.error);
    else if (s.status === 'completed' && 'image' in out) finished.set(out.index, { out, cost: Number(s.cost_micros) });
  }
  const portraitsTotal = plan.slots.filter((s) => !s.clientUrl).length;
  const portraitsReady = portraitsDone === portraitsTotal;
  // A story fails at its first unfinished step: a scene only if every portrait was done. (After a
  // scene retry, scenes_incomplete names scenes never attempted: they stay skipped.)
  const culprit = job.status === 'failed' && job.error_code !== 'scenes_incomplete' && portraitsReady && failed.size === 0 ? plan.scenes.findIndex((s) => !finished.has(s.index)) : -1;
  const running = job.status === 'processing' && portraitsReady && job.cancel_requested_at == null;
  const next = running ? (job.retry_scene != null ? Number(job.retry_scene) : plan.scenes.find((s) => !finished.has(s.index) && !failed.has(s.index))?.index) : undefined;
  const expired = job.result_expired_at != null;
  const now = Date.now();
  return Promise.all(
    plan.scenes.map(async (s): Promise<SceneProgress> => {
      const f = finished.get(s.index);
      // Params describe the scene, not its files: shown after retention too.
      if (f) return { index: s.index, status: 'completed', prompt: s.prompt, cost_eur: microsToEur(f.cost), ...(expired ? {} : sceneImages(await p.formats(f.out.image, now))), ...withParams(f.out) };
      if (s.index === next) return { index: s.index, status: 'processing', prompt: s.prompt };
      const err = failed.get(s.index) ?? (s.index === culprit ? { code: job.error_code ?? 'internal_error', message: job.error_message ?? 'This scene failed.' } : undefined);
      if (err) return { index: s.index, status: 'failed', prompt: s.prompt, error: err };
      const status = job.status === 'canceled' ? 'canceled' : job.status === 'failed' || job.retry_scene != null ? 'skipped' : 'pending';
      return { index: s.index, status, prompt: s.prompt };
    }),
  );
}
