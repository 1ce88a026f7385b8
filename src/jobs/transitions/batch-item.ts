import { sql } from 'kysely';
import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { microsToEur } from '../../util/money.js';
import { appendJobEvent } from '../event-log.js';
import { CANCELED_MESSAGE } from '../seed-status.js';
import { endedAt, lockJob, type TransitionContext } from './context.js';

/**
 * A batch (issue 21) moves only through its items: these run inside the transaction of an item's
 * own transition, after the item's row is locked, and lock the batch's row second. Every writer
 * of a batch takes its items before the batch (src/jobs/transitions/cancel-batch.ts too), so two
 * transactions never wait on each other in a circle.
 */

/** The first item to start starts its batch. */
export async function batchItemStarted(trx: Db, ctx: TransitionContext, item: Pick<JobRow, 'batch_id' | 'account_id'>): Promise<void> {
  if (!item.batch_id) return;
  const now = Date.now();
  const res = await trx
    .updateTable('jobs')
    .set({ status: 'processing', started_at: now, updated_at: now })
    .where('id', '=', item.batch_id)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (Number(res.numUpdatedRows) === 1) await appendJobEvent(trx, { id: item.batch_id, account_id: item.account_id }, 'job.started', {});
  ctx.touched?.add(item.batch_id);
}

export interface ItemEnding {
  status: 'completed' | 'failed' | 'canceled';
  /** The item's totals once ended: everything it captured and everything it gave back. */
  chargedMicros: number;
  refundedMicros: number;
  error?: { code: string; message: string };
}

/**
 * An item ended: the batch counts it and its money, tells clients (`batch.item.completed` /
 * `batch.item.failed`; a canceled item is counted silently, since a batch cancel would otherwise
 * emit one event per waiting item), and ends when its last item does: completed when any item
 * completed, canceled when its cancel was asked (or every item was canceled), failed otherwise.
 */
export async function batchItemEnded(trx: Db, ctx: TransitionContext, item: Pick<JobRow, 'id' | 'batch_id' | 'batch_index' | 'account_id'>, end: ItemEnding): Promise<void> {
  if (!item.batch_id) return;
  const batchId = item.batch_id;
  await lockJob(trx, batchId);
  const col = end.status === 'completed' ? 'items_completed' : end.status === 'failed' ? 'items_failed' : 'items_canceled';
  const totals = await trx
    .updateTable('batches')
    .set({
      [col]: sql`${sql.ref(col)} + 1`,
      charged_micros: sql`charged_micros + ${end.chargedMicros}`,
      refunded_micros: sql`refunded_micros + ${end.refundedMicros}`,
    })
    .where('job_id', '=', batchId)
    .returning(['items_total', 'items_completed', 'items_failed', 'items_canceled', 'charged_micros', 'refunded_micros', 'failure_codes_json'])
    .executeTakeFirstOrThrow();
  let codes = totals.failure_codes_json ? (JSON.parse(totals.failure_codes_json) as Record<string, number>) : {};
  if (end.status === 'failed' && end.error) {
    codes = { ...codes, [end.error.code]: (codes[end.error.code] ?? 0) + 1 };
    await trx.updateTable('batches').set({ failure_codes_json: JSON.stringify(codes) }).where('job_id', '=', batchId).execute();
  }
  const ended = Number(totals.items_completed) + Number(totals.items_failed) + Number(totals.items_canceled);
  const now = Date.now();
  await trx.updateTable('jobs').set({ scenes_completed: ended, updated_at: now }).where('id', '=', batchId).execute();
  const batch = { id: batchId, account_id: item.account_id };
  const counts = { items_completed: Number(totals.items_completed), items_failed: Number(totals.items_failed), items_total: Number(totals.items_total) };
  if (end.status === 'completed') {
    await appendJobEvent(trx, batch, 'batch.item.completed', { index: item.batch_index, item_job_id: item.id, charged_eur: microsToEur(end.chargedMicros), ...counts });
  } else if (end.status === 'failed') {
    await appendJobEvent(trx, batch, 'batch.item.failed', { index: item.batch_index, item_job_id: item.id, error: end.error, refunded_eur: microsToEur(end.refundedMicros), ...counts });
  }
  ctx.touched?.add(batchId);
  if (ended < Number(totals.items_total)) return;
  await settleBatch(trx, ctx, batchId, { ...counts, items_canceled: Number(totals.items_canceled), charged: Number(totals.charged_micros), refunded: Number(totals.refunded_micros), codes }, now);
}

/** The batch's own ending, once no item is left running. */
async function settleBatch(
  trx: Db,
  ctx: TransitionContext,
  batchId: string,
  t: { items_total: number; items_completed: number; items_failed: number; items_canceled: number; charged: number; refunded: number; codes: Record<string, number> },
  now: number,
): Promise<void> {
  const batch = await trx.selectFrom('jobs').selectAll().where('id', '=', batchId).executeTakeFirstOrThrow();
  const money = { charged_eur: microsToEur(t.charged), refunded_eur: microsToEur(t.refunded) };
  const counts = { items_total: t.items_total, items_completed: t.items_completed, items_failed: t.items_failed, items_canceled: t.items_canceled };
  const ending = { ...endedAt(ctx, batch, now), started_at: sql<number>`coalesce(started_at, ${now})` };
  if (batch.cancel_requested_at != null || (t.items_completed === 0 && t.items_failed === 0)) {
    await trx
      .updateTable('jobs')
      .set({ status: 'canceled', error_code: 'canceled', error_message: CANCELED_MESSAGE, cancel_requested_at: batch.cancel_requested_at ?? now, ...ending })
      .where('id', '=', batchId)
      .execute();
    await appendJobEvent(trx, batch, 'job.canceled', { ...counts, ...money });
  } else if (t.items_completed > 0) {
    await trx
      .updateTable('jobs')
      .set({ status: 'completed', result_json: JSON.stringify({ kind: 'batch', ...counts }), ...ending })
      .where('id', '=', batchId)
      .execute();
    await appendJobEvent(trx, batch, 'job.completed', { ...counts, ...money });
  } else {
    const failure = batchFailure(t.codes, t.items_failed);
    await trx.updateTable('jobs').set({ status: 'failed', error_code: failure.code, error_message: failure.message, ...ending }).where('id', '=', batchId).execute();
    await appendJobEvent(trx, batch, 'job.failed', { code: failure.code, message: failure.message, ...counts, ...money });
  }
}

/** No item succeeded: the items' common failure code, else `items_failed`. */
export function batchFailure(codes: Record<string, number>, failed: number): { code: string; message: string } {
  const kinds = Object.keys(codes);
  const detail = kinds.map((k) => `${k} × ${codes[k]}`).join(', ');
  return {
    code: kinds.length === 1 ? kinds[0]! : 'items_failed',
    message: `No item of the batch succeeded: ${failed} failed (${detail}). Each item's error is in GET /v1/batches/{id}/items.`,
  };
}
