import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { isoSeconds } from '../util/time.js';
import { decodeCursor, encodeCursor, intField, trimPage, type PageAt } from '../util/cursor.js';
import { UUID_RE } from '../util/ids.js';

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

/** Where a delivery sorts: oldest first, per job in event order, the id breaking any remaining tie (one total order). */
export interface DeliveryKey {
  created_at: number;
  job_id: string;
  seq: number;
  id: string;
}

/**
 * An account's deliveries, oldest first (per job: in event order), optionally of one job. With
 * `after` (the key of the previous page's last delivery) the page is the keyset read
 * `(created_at, job_id, seq, id) > after` (a row-value comparison, in SQLite and PostgreSQL
 * alike): deliveries queued meanwhile sort after it, so no delivery repeats or is skipped.
 */
export async function listDeliveries(db: Db, accountId: string, jobId: string | undefined, page: PageAt<DeliveryKey>) {
  let q = db.selectFrom('webhook_deliveries').where('account_id', '=', accountId);
  if (jobId) q = q.where('job_id', '=', jobId);
  const a = page.after;
  const ordered = (a ? q.where(sql<boolean>`(created_at, job_id, seq, id) > (${a.created_at}, ${a.job_id}, ${a.seq}, ${a.id})`) : q)
    .selectAll()
    .orderBy('created_at')
    .orderBy('job_id')
    .orderBy('seq')
    .orderBy('id')
    .limit(page.limit + 1);
  const read = await (a ? ordered : ordered.offset(page.offset)).execute();
  const { rows, more } = trimPage(read, page.limit);
  const total = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  const last = rows[rows.length - 1];
  return {
    deliveries: await deliveryViews(db, rows),
    total: Number(total.n),
    next: more && last ? { created_at: Number(last.created_at), job_id: last.job_id, seq: Number(last.seq), id: last.id } : null,
  };
}

/** A deliveries cursor: the last delivery's key, behind the opaque wrapper (src/util/cursor.ts, kind `d`). */
export const deliveryCursor = {
  encode: (k: DeliveryKey): string => encodeCursor('d', [k.created_at, k.job_id, k.seq, k.id.replace(/^msg_/, '')]),
  decode: (token: string): DeliveryKey | null => {
    const f = decodeCursor(token, 'd', 4);
    if (!f) return null;
    const [createdAt, jobId, seq, id] = [intField(f[0]!), f[1]!.toLowerCase(), intField(f[2]!), f[3]!.toLowerCase()];
    if (createdAt === null || seq === null || !UUID_RE.test(jobId) || !/^[0-9a-f]{32}$/.test(id)) return null;
    return { created_at: createdAt, job_id: jobId, seq, id: `msg_${id}` };
  },
};

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
