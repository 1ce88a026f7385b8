import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { TERMINAL } from '../types.js';
import { settleCanceled } from './settle-canceled.js';
import { lockJob, type TransitionContext } from './context.js';

/**
 * A client cancels a batch (issue 21): finished items stay as they are (results kept, charged);
 * every waiting item is canceled at once, its hold returned; a running item is asked to cancel
 * and its worker discards its result uncharged when its call returns (as a single image's cancel
 * does). The batch ends canceled when its last running item has. Locks the items (in id order,
 * so two cancels of one batch cannot deadlock) before the batch, the order every item transition
 * takes them in. The caller has checked the batch is this account's; `ended` is its
 * refusal when the batch has already ended.
 */
export async function cancelBatch(trx: Db, ctx: TransitionContext, batchId: string, ended: (batch: JobRow) => Error): Promise<void> {
  const open = ['pending', 'processing'] as const;
  if (trx.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select id from jobs where batch_id = ${batchId} and status in ('pending', 'processing') order by id for update`.execute(trx);
  }
  await lockJob(trx, batchId);
  const batch = await trx.selectFrom('jobs').selectAll().where('id', '=', batchId).executeTakeFirstOrThrow();
  // Its last item may have ended it while this waited for the locks.
  if (TERMINAL.has(batch.status)) throw ended(batch);
  const now = Date.now();
  // The batch first records the cancel, so the item that ends it last ends it canceled.
  await trx.updateTable('jobs').set({ cancel_requested_at: now, updated_at: now }).where('id', '=', batchId).where('cancel_requested_at', 'is', null).execute();
  const items: JobRow[] = await trx.selectFrom('jobs').selectAll().where('batch_id', '=', batchId).where('status', 'in', open).orderBy('batch_index').execute();
  const running = items.filter((i) => i.status === 'processing').map((i) => i.id);
  for (let i = 0; i < running.length; i += 500) {
    await trx.updateTable('jobs').set({ cancel_requested_at: now, updated_at: now }).where('id', 'in', running.slice(i, i + 500)).where('cancel_requested_at', 'is', null).execute();
  }
  for (const item of items) if (item.status === 'pending') await settleCanceled(trx, ctx, item);
}
