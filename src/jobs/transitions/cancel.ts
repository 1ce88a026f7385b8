import type { Db } from '../../store/db.js';
import type { JobRow } from '../row.js';
import { EaselError } from '../../errors.js';
import { isoSeconds } from '../../util/time.js';
import { TERMINAL } from '../types.js';
import { lockJob, type TransitionContext } from './context.js';
import { settleCanceled } from './settle-canceled.js';
import { seedStatus } from '../seed-status.js';
import { cancelBatch } from './cancel-batch.js';
import { BATCH_OPERATION } from '../batch-operation.js';

/**
 * A client cancels a job of its account. Pending: canceled at once (hold released, task removed).
 * Processing: the request is recorded and the worker that owns the job ends it at its next step
 * (a story finishes the scene in flight; a single image is discarded uncharged when its call
 * returns). Terminal: 409 conflict. Returns the row as it now is (undefined: no such job).
 */
export async function cancel(trx: Db, ctx: TransitionContext, id: string, accountId: string): Promise<JobRow | undefined> {
  const kind = await trx.selectFrom('jobs').select('operation').where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  if (!kind) return undefined;
  // A batch locks its items before itself (src/jobs/transitions/cancel-batch.ts).
  if (kind.operation === BATCH_OPERATION) {
    await cancelBatch(trx, ctx, id, notCancelable);
    return trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  }
  await lockJob(trx, id);
  const job = await trx.selectFrom('jobs').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
  if (!job) return undefined;
  if (TERMINAL.has(job.status)) throw notCancelable(job);
  if (job.status === 'pending') await settleCanceled(trx, ctx, job);
  else if (job.cancel_requested_at == null) await trx.updateTable('jobs').set({ cancel_requested_at: Date.now(), updated_at: Date.now() }).where('id', '=', id).execute();
  return trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** 409 for a job that can no longer be canceled, with the state it is in. */
function notCancelable(job: JobRow): EaselError {
  return new EaselError(409, 'conflict', `Job ${job.id} is already ${job.status}; only pending or processing jobs can be canceled.`, {
    job_id: job.id,
    status: seedStatus(job.status),
    ...(job.status === 'canceled' ? { canceled: true } : {}),
    ...(job.completed_at != null ? { completed_at: isoSeconds(Number(job.completed_at)) } : {}),
  });
}
