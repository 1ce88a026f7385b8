import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { isoSeconds } from '../util/time.js';

/** One delivery as the API shows it, with every attempt. */
export async function deliveryViews(db: Db, rows: { id: string; job_id: string; seq: number; event_type: string; url: string; status: string; attempts: number; next_attempt_at: number | null; created_at: number }[]) {
  const ids = rows.map((r) => r.id);
  const attempts = ids.length
    ? await db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', ids).orderBy('delivery_id').orderBy('attempt').execute()
    : [];
  return rows.map((r) => ({
    id: r.id,
    job_id: r.job_id,
    seq: Number(r.seq),
    event_type: r.event_type,
    url: r.url,
    status: r.status,
    next_attempt_at: r.next_attempt_at == null ? null : isoSeconds(Number(r.next_attempt_at)),
    created_at: isoSeconds(Number(r.created_at)),
    attempts: attempts
      .filter((a) => a.delivery_id === r.id)
      .map((a) => ({
        attempt: Number(a.attempt),
        at: new Date(Number(a.started_at)).toISOString(),
        status_code: a.status_code == null ? null : Number(a.status_code),
        latency_ms: Number(a.latency_ms),
        error: a.error,
      })),
  }));
}

/** An account's deliveries, oldest first (per job: in event order), optionally of one job. */
export async function listDeliveries(db: Db, accountId: string, jobId: string | undefined, limit: number, offset: number) {
  let q = db.selectFrom('webhook_deliveries').where('account_id', '=', accountId);
  if (jobId) q = q.where('job_id', '=', jobId);
  const rows = await q.selectAll().orderBy('created_at').orderBy('job_id').orderBy('seq').limit(limit).offset(offset).execute();
  const total = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { deliveries: await deliveryViews(db, rows), total: Number(total.n) };
}

/**
 * Re-arms a delivery of this account: due now, with a fresh 24 h retry window. The id stays the
 * same (receivers de-duplicate by it). undefined: no such delivery for this account.
 */
export async function redeliver(db: Db, accountId: string, id: string) {
  const now = Date.now();
  const r = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'pending', next_attempt_at: now, window_started_at: now, updated_at: now })
    .where('id', '=', id)
    .where('account_id', '=', accountId)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return undefined;
  const row = await db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  return (await deliveryViews(db, [row]))[0]!;
}
