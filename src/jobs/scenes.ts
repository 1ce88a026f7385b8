import type { Db } from '../store/db.js';
import type { JobQueue } from '../queue/port.js';
import type { JobRow } from './row.js';
import type { StoryRequest } from '../stories/request.js';
import { holdOrRefuse } from '../billing/credit-insufficient.js';
import { appendJobEvent } from './event-log.js';
import { lockJob } from './service.js';
import { TERMINAL } from './types.js';
import { storyStep } from '../stories/stored.js';
import { planStory } from '../stories/plan.js';
import { EaselError } from '../errors.js';
import { microsToEur } from '../util/money.js';

/** What a failed scene keeps in `job_steps.output_json` (status 'failed', cost 0). */
export interface FailedSceneOutput {
  kind: 'scene';
  index: number;
  error: { code: string; message: string };
}

/**
 * Records that a scene failed for good (a refusal, a provider error that will not pass), with its
 * error, and appends `scene.failed`. Durable so the per-scene view and a later retry know which
 * scene it was even after the job settled. Nothing is charged for it.
 */
export async function recordFailedScene(db: Db, jobId: string, index: number, error: { code: string; message: string }): Promise<void> {
  const { step, ordinal } = storyStep.scene(index);
  await db.transaction().execute(async (trx) => {
    await lockJob(trx, jobId);
    const job = await trx.selectFrom('jobs').select(['id', 'account_id', 'status']).where('id', '=', jobId).executeTakeFirst();
    if (!job || TERMINAL.has(job.status)) return;
    const existing = await trx.selectFrom('job_steps').select('status').where('job_id', '=', jobId).where('step', '=', step).executeTakeFirst();
    if (existing?.status === 'completed') return;
    const output: FailedSceneOutput = { kind: 'scene', index, error: { code: error.code, message: error.message.slice(0, 2000) } };
    if (existing) await trx.updateTable('job_steps').set({ output_json: JSON.stringify(output), created_at: Date.now() }).where('job_id', '=', jobId).where('step', '=', step).execute();
    else await trx.insertInto('job_steps').values({ job_id: jobId, step, ordinal, status: 'failed', output_json: JSON.stringify(output), cost_micros: 0, created_at: Date.now() }).execute();
    await appendJobEvent(trx, job, 'scene.failed', { step, scene: index, code: output.error.code, message: output.error.message });
  });
}

/**
 * Re-runs one scene of a failed story: holds one scene's price (402 if not covered; 422 if it
 * would take the job past its max_cost_eur), puts the job back to processing with `retry_scene`
 * set and re-enqueues it. The story pipeline then generates that scene only (with the finished
 * earlier scenes as history) and completes the job if no scene is missing any more, or fails it
 * again naming what is still missing. Returns the job row after the change.
 */
export async function retryScene(db: Db, queue: JobQueue, jobId: string, accountId: string, index: number): Promise<JobRow | undefined> {
  return db.transaction().execute(async (trx) => {
    await lockJob(trx, jobId);
    const job = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).where('account_id', '=', accountId).executeTakeFirst();
    if (!job) return undefined;
    if (job.operation !== 'story') throw new EaselError(409, 'scene_not_retryable', `Job ${jobId} is not a story; only story scenes can be retried.`, { job_id: jobId, operation: job.operation });
    if (job.status !== 'failed') {
      throw new EaselError(409, 'scene_not_retryable', `Job ${jobId} is ${job.status}; scenes can be retried only on a failed story.`, { job_id: jobId, status: job.status });
    }
    if (job.result_expired_at != null) throw new EaselError(409, 'result_expired', `Job ${jobId}'s files have expired; the story cannot be continued.`, { job_id: jobId });
    const req = JSON.parse(job.request_json) as StoryRequest;
    if (!Number.isInteger(index) || index < 0 || index >= req.scenes.length) {
      throw new EaselError(404, 'not_found', `Story ${jobId} has no scene ${index} (scenes are numbered 0–${req.scenes.length - 1}).`);
    }
    const steps = await trx.selectFrom('job_steps').select(['step', 'status']).where('job_id', '=', jobId).execute();
    const done = new Set(steps.filter((s) => s.status === 'completed').map((s) => s.step));
    if (done.has(storyStep.scene(index).step)) {
      throw new EaselError(409, 'scene_not_retryable', `Scene ${index} of job ${jobId} is already completed.`, { job_id: jobId, scene: index, scene_status: 'completed' });
    }
    const portraitsDone = [...done].filter((s) => s.startsWith('portrait-')).length;
    const portraitsNeeded = planStory(req, req.aspect_ratio).slots.filter((s) => !s.clientUrl).length;
    if (portraitsDone < portraitsNeeded) {
      throw new EaselError(409, 'scene_not_retryable', `Story ${jobId} failed before its character portraits were finished; submit it again instead.`, { job_id: jobId, scene: index });
    }
    const price = req.unit_price_micros;
    if (job.max_cost_micros != null && Number(job.charged_micros) + price > Number(job.max_cost_micros)) {
      throw new EaselError(422, 'max_cost_exceeded', `Retrying scene ${index} (EUR ${microsToEur(price)}) would take the job past its max_cost_eur of EUR ${microsToEur(Number(job.max_cost_micros))}; nothing was charged.`, {
        price_eur: microsToEur(price),
        charged_eur: microsToEur(Number(job.charged_micros)),
        max_cost_eur: microsToEur(Number(job.max_cost_micros)),
      });
    }
    await holdOrRefuse(trx, accountId, jobId, price, 'scene');
    const now = Date.now();
    await trx
      .updateTable('jobs')
      .set({ status: 'processing', hold_micros: Number(job.hold_micros) + price, retry_scene: index, completed_at: null, result_expires_at: null, updated_at: now })
      .where('id', '=', jobId)
      .execute();
    await appendJobEvent(trx, job, 'job.started', { retry_scene: index });
    await queue.remove(trx, jobId);
    await queue.enqueue(trx, jobId);
    return trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  });
}
