import type { Db } from '../store/db.js';
import { enqueueDelivery } from './webhook-outbox.js';

/** Event types a job can emit, in the order a job normally emits them. */
export type JobEventType =
  | 'job.created'
  | 'job.started'
  | 'scene.completed'
  | 'scene.failed'
  | 'job.completed'
  | 'job.failed'
  | 'job.canceled'
  | 'batch.item.completed'
  | 'batch.item.failed';

export interface JobEvent {
  job_id: string;
  seq: number;
  type: string;
  data: Record<string, unknown>;
  created_at: number;
}

/**
 * Appends one event to a job's history. Call it inside the transaction that makes the change the
 * event describes, after the job row is locked (JobService's lockJob): the lock is what makes
 * `max(seq) + 1` safe against a second writer. Returns the new sequence number.
 * This is the single place events are born, so outboxes (webhooks) hook in here.
 */
export async function appendJobEvent(
  trx: Db,
  job: { id: string; account_id: string },
  type: JobEventType,
  data: Record<string, unknown> = {},
): Promise<number> {
  const last = await trx
    .selectFrom('job_events')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .where('job_id', '=', job.id)
    .executeTakeFirst();
  const seq = Number(last?.seq ?? 0) + 1;
  await trx
    .insertInto('job_events')
    .values({ job_id: job.id, seq, account_id: job.account_id, type, data_json: JSON.stringify(data), created_at: Date.now() })
    .execute();
  // The webhook outbox row commits with the event (src/jobs/webhook-outbox.ts).
  await enqueueDelivery(trx, job, seq, type);
  return seq;
}

/** A job's events after `afterSeq` (0 = from the start), oldest first. */
export async function listJobEvents(db: Db, jobId: string, afterSeq = 0): Promise<JobEvent[]> {
  const rows = await db
    .selectFrom('job_events')
    .selectAll()
    .where('job_id', '=', jobId)
    .where('seq', '>', afterSeq)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({ job_id: r.job_id, seq: Number(r.seq), type: r.type, data: JSON.parse(r.data_json), created_at: Number(r.created_at) }));
}
