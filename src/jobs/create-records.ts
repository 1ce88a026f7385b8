import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { attachJobWebhook, type RequestedWebhook } from './webhook-outbox.js';

/**
 * What every creating transaction writes beside the job row, a job of its own and a batch alike:
 * the webhook it reports to and its metadata pairs (for the list's filters).
 */
export async function recordCreateExtras(trx: Db, job: { id: string; account_id: string }, webhook: RequestedWebhook | null | undefined, metadata: Record<string, string> | undefined): Promise<void> {
  await attachJobWebhook(trx, job, webhook);
  const pairs = Object.entries(metadata ?? {});
  if (pairs.length > 0) await trx.insertInto('job_metadata').values(pairs.map(([key, value]) => ({ job_id: job.id, account_id: job.account_id, key, value }))).execute();
}

/**
 * The backlog bound (EASEL_MAX_QUEUED_JOBS), checked inside the creating transaction after the new
 * job is written: it counts the account's waiting jobs, this one included — a batch as one job, its
 * items not at all (they are bounded by EASEL_MAX_BATCH_ITEMS); running ones are the dispatcher's limit.
 */
export async function checkBacklog(trx: Db, accountId: string, maxQueuedJobs: number): Promise<void> {
  const waiting = await trx
    .selectFrom('jobs')
    .select(sql<number>`count(*)`.as('n'))
    .where('account_id', '=', accountId)
    .where('status', '=', 'pending')
    .where('batch_id', 'is', null)
    .executeTakeFirstOrThrow();
  if (Number(waiting.n) > maxQueuedJobs) {
    throw new EaselError(429, 'rate_limited', `At most ${maxQueuedJobs} jobs may wait to start for an account; wait for some to start.`, { limit: maxQueuedJobs }, { 'retry-after': '2' });
  }
}
