import type { Selectable } from 'kysely';
import type { JobStepTable } from '../store/schema.js';
import type { JobRow } from './row.js';
import type { FormatView, Presenter } from './present.js';
import type { StoryRequest } from '../stories/request.js';
import type { SceneOutput, StoredStoryResult } from '../stories/stored.js';
import { planStory } from '../stories/plan.js';
import { microsToEur } from '../util/money.js';

export type StepRow = Selectable<JobStepTable>;

/**
 * A completed story's `result`. Character references come twice, as the contract asks:
 * `character_refs` {name, url, expires_at} and `characters` {name, reference_url, expires_at}.
 * A state is its own reference named "Name (state)", with `character` and `state` beside it for
 * clients that would rather not parse the name. A client's own reference is returned as given,
 * with `expires_at: null` (its lifetime is not ours to know).
 */
export async function presentStoryResult(p: Presenter, jobId: string, r: StoredStoryResult): Promise<Record<string, unknown>> {
  const now = Date.now();
  const refs = await Promise.all(
    r.refs.map(async (ref) => {
      const signed = ref.png_key ? await p.signedUrl(ref.png_key, now) : { url: ref.client_url!, expires_at: null };
      return { name: ref.name, url: signed.url, expires_at: signed.expires_at, character: ref.character, ...(ref.state !== undefined ? { state: ref.state } : {}) };
    }),
  );
  return {
    id: jobId,
    ai_generated: true,
    scenes: await Promise.all(r.scenes.map(async (s) => ({ prompt: s.prompt, images: await p.formats(s.image, now) }))),
    character_refs: refs,
    characters: refs.map(({ url, ...rest }) => ({ name: rest.name, reference_url: url, expires_at: rest.expires_at, character: rest.character, ...(rest.state !== undefined ? { state: rest.state } : {}) })),
    cost_eur: microsToEur(r.cost_micros),
    balance_eur: microsToEur(r.balance_after_micros),
    model: r.model,
  };
}

export interface SceneProgress {
  index: number;
  status: 'completed' | 'pending' | 'failed' | 'skipped';
  prompt: string;
  images?: Record<string, FormatView>;
  error?: { code: string; message: string };
}

/**
 * The Easel `scenes` extension of a story job that has not completed: finished scenes with
 * their images (so a failed story's work stays retrievable), the scene that stopped a failed
 * story with its error, and the rest pending (still to come) or skipped (never to come).
 */
export async function presentStoryProgress(p: Presenter, job: JobRow, steps: StepRow[]): Promise<SceneProgress[]> {
  const req = JSON.parse(job.request_json) as StoryRequest;
  const plan = planStory(req, req.aspect_ratio);
  const finished = new Map<number, SceneOutput>();
  let portraitsDone = 0;
  for (const s of steps) {
    const out = JSON.parse(s.output_json) as SceneOutput | { kind: 'portrait' };
    if (out.kind === 'scene') finished.set(out.index, out);
    else if (out.kind === 'portrait') portraitsDone++;
  }
  const portraitsTotal = plan.slots.filter((s) => !s.clientUrl).length;
  // A story fails at its first unfinished step: a scene only if every portrait was done.
  const culprit = job.status === 'failed' && portraitsDone === portraitsTotal ? plan.scenes.findIndex((s) => !finished.has(s.index)) : -1;
  const ended = job.status === 'failed' || job.status === 'canceled';
  const now = Date.now();
  return Promise.all(
    plan.scenes.map(async (s): Promise<SceneProgress> => {
      const f = finished.get(s.index);
      if (f) return { index: s.index, status: 'completed', prompt: s.prompt, images: await p.formats(f.image, now) };
      if (s.index === culprit) {
        return { index: s.index, status: 'failed', prompt: s.prompt, error: { code: job.error_code ?? 'internal_error', message: job.error_message ?? 'This scene failed.' } };
      }
      return { index: s.index, status: ended ? 'skipped' : 'pending', prompt: s.prompt };
    }),
  );
}
