import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { appendJobEvent } from '../event-log.js';
import { EaselError } from '../../errors.js';
import { microsToEur } from '../../util/money.js';
import { holdOrRefuse } from '../../billing/credit-insufficient.js';
import { lockJob, type TransitionContext } from './context.js';
import { seedStatus } from '../seed-status.js';
import { taskOf } from '../task-of.js';

/** The story's rules for one scene: its price, or the client's error (src/story/scenes.ts). */
export type SceneRetryPrice = (job: JobRow, index: number, completedSteps: ReadonlySet<string>) => number;

/**
 * A client re-runs one scene of a failed story: holds one scene's price (402 if not covered; 422
 * if it would take the job past its max_cost_eur), puts the job back to processing with
 * `retry_scene` set and re-enqueues it. The story pipeline then generates that scene only and
 * completes the job if no scene is missing any more, or fails it again naming what is still
 * missing. Returns the job row after the change (undefined: no such job for this account).
 */
export async function retryScene(
  trx: Db,
  ctx: TransitionContext,
  job: { id: string; accountId: string; index: number },
  priceOf: SceneRetryPrice,
): Promise<JobRow | undefined> {
  const { id, accountId, index } = job;
  await lockJob(trx, id);
  const row = await trx.selectFrom('jobs').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  if (!row) return undefined;
  if (row.operation !== 'story') throw new EaselError(409, 'scene_not_retryable', `Job ${id} is not a story; only story scenes can be retried.`, { job_id: id, operation: row.operation });
  if (row.status !== 'failed') {
    // A canceled story shows failed (with canceled: true): say why it is not retryable in the same terms.
    const why = row.status === 'canceled' ? 'was canceled' : `is ${row.status}`;
    throw new EaselError(409, 'scene_not_retryable', `Job ${id} ${why}; scenes can be retried only on a story that failed.`, {
      job_id: id,
      status: seedStatus(row.status),
      ...(row.status === 'canceled' ? { canceled: true } : {}),
    });
  }
  if (row.result_expired_at != null || (row.result_expires_at != null && Number(row.result_expires_at) <= Date.now())) {
    throw new EaselError(409, 'result_expired', `Job ${id}'s files have expired; the story cannot be continued.`, { job_id: id });
  }
  const steps = await trx.selectFrom('job_steps').select(['step', 'status']).where('job_id', '=', id).execute();
  const price = priceOf(row, index, new Set(steps.filter((s) => s.status === 'completed').map((s) => s.step)));
  if (row.max_cost_micros != null && Number(row.charged_micros) + price > Number(row.max_cost_micros)) {
    throw new EaselError(422, 'max_cost_exceeded', `Retrying scene ${index} (EUR ${microsToEur(price)}) would take the job past its max_cost_eur of EUR ${microsToEur(Number(row.max_cost_micros))}; nothing was charged.`, {
      price_eur: microsToEur(price),
      charged_eur: microsToEur(Number(row.charged_micros)),
      max_cost_eur: microsToEur(Number(row.max_cost_micros)),
    });
  }
  await holdOrRefuse(trx, accountId, id, price, 'scene');
  const now = Date.now();
  await trx
    .updateTable('jobs')
    .set({ status: 'processing', hold_micros: Number(row.hold_micros) + price, retry_scene: index, completed_at: null, result_expires_at: null, updated_at: now })
    .where('id', '=', id)
    .execute();
  await appendJobEvent(trx, row, 'job.started', { retry_scene: index });
  await ctx.queue.remove(trx, id);
  await ctx.queue.enqueue(trx, taskOf(row, 1));
  return trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}
