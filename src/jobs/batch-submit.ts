import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import type { JobQueue } from '../queue/port.js';
import type { NewJob } from './new-row.js';
import { newJobRow } from './new-row.js';
import { newId } from '../util/ids.js';
import { EaselError } from '../errors.js';
import { holdManyOrRefuse } from '../billing/credit-insufficient.js';
import { appendJobEvent } from './event-log.js';
import type { RequestedWebhook } from './webhook-outbox.js';
import { checkBacklog, recordCreateExtras } from './create-records.js';
import { claimIdempotency } from '../idempotency/store.js';
import type { IdempotencyClaim } from '../idempotency/request.js';
import type { JobOptions } from './options.js';
import { taskOf } from './task-of.js';
import { BATCH_OPERATION } from './batch-operation.js';

/** A batch ready to submit: every item validated, moderated and priced (src/batches/prepare.ts). */
export interface BatchSubmit {
  accountId: string;
  keyId: string | null;
  requestId?: string | null;
  /** The operation every item runs. */
  operation: string;
  /** What the batch's own job stores as its request (the items are stored on the items). */
  request: unknown;
  options: JobOptions;
  idempotency: IdempotencyClaim | null;
  webhook: RequestedWebhook | null;
  items: NewJob[];
}

export interface BatchLimits {
  maxQueuedJobs: number;
  maxActiveBatches: number;
}

/** Rows per multi-row insert: inside SQLite's and PostgreSQL's bound-parameter limits (~40 columns a job). */
const CHUNK = 200;

/**
 * Creates a batch in one transaction: its job, its totals row and one job per item, every item's
 * price held (all or nothing: 402 when the balance or a spending cap cannot cover the sum), each
 * item's queue task enqueued for the fair scheduler. A crash leaves either nothing or all of it.
 */
export async function insertBatch(trx: Db, queue: JobQueue, input: BatchSubmit, batch: JobRow, limits: BatchLimits): Promise<JobRow[]> {
  const { accountId } = input;
  if (input.idempotency) await claimIdempotency(trx, accountId, input.idempotency, batch.id);
  const active = await trx
    .selectFrom('jobs')
    .select(sql<number>`count(*)`.as('n'))
    .where('account_id', '=', accountId)
    .where('batch_id', 'is', null)
    .where('status', 'in', ['pending', 'processing'])
    .where('operation', '=', BATCH_OPERATION)
    .executeTakeFirstOrThrow();
  if (Number(active.n) >= limits.maxActiveBatches) {
    throw new EaselError(429, 'rate_limited', `At most ${limits.maxActiveBatches} batches of an account may wait or run at once; wait for one to end.`, { limit: limits.maxActiveBatches, limit_scope: 'batches' }, { 'retry-after': '10' });
  }
  const now = Number(batch.created_at);
  const items = input.items.map((item, index) => newJobRow(item, newId(), now, batch.retention_s, { id: batch.id, index, priority: batch.priority }));
  const total = items.reduce((a, i) => a + Number(i.hold_micros), 0);
  await trx.insertInto('jobs').values(batch).execute();
  await trx
    .insertInto('batches')
    .values({ job_id: batch.id, account_id: accountId, operation: input.operation, items_total: items.length, items_completed: 0, items_failed: 0, items_canceled: 0, hold_micros: total, charged_micros: 0, refunded_micros: 0, failure_codes_json: null, created_at: now })
    .execute();
  await recordCreateExtras(trx, batch, input.webhook, input.options.metadata);
  for (let i = 0; i < items.length; i += CHUNK) await trx.insertInto('jobs').values(items.slice(i, i + CHUNK)).execute();
  await holdManyOrRefuse(trx, accountId, items.map((i) => ({ jobId: i.id, micros: Number(i.hold_micros) })), 'request');
  await checkBacklog(trx, accountId, limits.maxQueuedJobs);
  await appendJobEvent(trx, batch, 'job.created', { operation: BATCH_OPERATION, item_operation: input.operation, items_total: items.length });
  // Each item's own history starts as a single job's does; items have no webhook of their own (the batch reports them).
  for (let i = 0; i < items.length; i += CHUNK) {
    await trx
      .insertInto('job_events')
      .values(items.slice(i, i + CHUNK).map((it) => ({ job_id: it.id, seq: 1, account_id: accountId, type: 'job.created', data_json: JSON.stringify({ operation: it.operation, scenes_total: it.scenes_total, batch_id: batch.id, index: it.batch_index }), created_at: now })))
      .execute();
  }
  await queue.enqueueMany(trx, items.map((it) => taskOf(it)));
  return items;
}
