import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from '../jobs/row.js';
import type { JobStatus } from '../store/schema.js';

/** One page of a batch's items in index order, optionally of some stored statuses, with the count of the same filter. */
export async function batchItems(db: Db, batchId: string, statuses: JobStatus[] | null, limit: number, offset: number): Promise<{ rows: JobRow[]; total: number }> {
  let q = db.selectFrom('jobs').where('batch_id', '=', batchId);
  if (statuses) q = q.where('status', 'in', statuses);
  const rows = await q.selectAll().orderBy('batch_index').limit(limit).offset(offset).execute();
  const n = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { rows, total: Number(n.n) };
}

/** Every item in index order, a page at a time (results.jsonl streams them). */
export async function* allBatchItems(db: Db, batchId: string, pageSize = 200): AsyncGenerator<JobRow> {
  let after = -1;
  for (;;) {
    const rows = await db.selectFrom('jobs').selectAll().where('batch_id', '=', batchId).where('batch_index', '>', after).orderBy('batch_index').limit(pageSize).execute();
    for (const r of rows) yield r;
    if (rows.length < pageSize) return;
    after = Number(rows[rows.length - 1]!.batch_index);
  }
}
