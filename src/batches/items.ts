import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from '../jobs/row.js';
import type { JobStatus } from '../store/schema.js';
import { decodeCursor, encodeCursor, intField, trimPage, type PageAt, type PageOf } from '../util/cursor.js';

/**
 * One page of a batch's items in index order, optionally of some stored statuses, with the count
 * of the same filter. With `after` (an item index, from the cursor) the page is the keyset read
 * `batch_index > after`: an item whose status changes between two pages cannot slide across the
 * page boundary, as it can under offset. The count is a second statement either way.
 */
export async function batchItems(db: Db, batchId: string, statuses: JobStatus[] | null, page: PageAt<number>): Promise<PageOf<JobRow>> {
  let q = db.selectFrom('jobs').where('batch_id', '=', batchId);
  if (statuses) q = q.where('status', 'in', statuses);
  const ordered = (page.after !== undefined ? q.where('batch_index', '>', page.after) : q).selectAll().orderBy('batch_index').limit(page.limit + 1);
  const rows = await (page.after !== undefined ? ordered : ordered.offset(page.offset)).execute();
  const n = await q.select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { ...trimPage(rows, page.limit), total: Number(n.n) };
}

/** An items cursor: the last item's index, behind the opaque wrapper (src/util/cursor.ts, kind `i`). */
export const batchItemCursor = {
  encode: (r: Pick<JobRow, 'batch_index'>): string => encodeCursor('i', [Number(r.batch_index)]),
  decode: (token: string): number | null => {
    const f = decodeCursor(token, 'i', 1);
    return f ? intField(f[0]!) : null;
  },
};

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
