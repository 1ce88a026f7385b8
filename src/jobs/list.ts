import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import { summaryTotal } from './list-total.js';
import type { JobFilters } from './job-filters.js';
import { trimPage, type PageAt, type PageOf } from '../util/cursor.js';

export type { JobFilters };

function filtered(db: Db, accountId: string, f: JobFilters) {
  // A batch's items are listed by their batch (GET /v1/batches/{id}/items), not here.
  let q = db.selectFrom('jobs').where('account_id', '=', accountId).where('batch_id', 'is', null);
  if (f.status?.length) q = q.where('status', 'in', f.status);
  if (f.operation?.length) q = q.where('operation', 'in', f.operation);
  if (f.createdAfter !== undefined) q = q.where('created_at', '>', f.createdAfter);
  if (f.createdBefore !== undefined) q = q.where('created_at', '<', f.createdBefore);
  for (const [key, value] of Object.entries(f.metadata ?? {})) {
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('job_metadata as m')
          .select('m.job_id')
          .whereRef('m.job_id', '=', 'jobs.id')
          .where('m.account_id', '=', accountId)
          .where('m.key', '=', key)
          .where('m.value', '=', value),
      ),
    );
  }
  return q;
}

/**
 * One page of an account's jobs, newest first (id descending: ids are UUIDv7, so id order is
 * creation order and every job has its own place), with the total of the same filter.
 *
 * With `after` (a job id, the last of the previous page) the page is a keyset read, `id < after`,
 * which no concurrent insert can shift: new jobs sort before any cursor taken earlier, so a walk
 * sees every job that existed when it started exactly once. The id is only a position: it need
 * not be a job of this account (or any job), and it selects nothing but this account's rows.
 * Without `after`, Depicta's offset: the total comes from the same statement (a window count),
 * so a page and its total describe one snapshot. On the cursor path the window would count only
 * what follows the cursor, so the total of the whole filter is a second count.
 */
export async function listJobs(db: Db, accountId: string, page: PageAt<string>, f: JobFilters): Promise<PageOf<JobRow>> {
  // Status and operation filters are totalled from the per-account summaries in the page's own
  // statement (src/jobs/list-total.ts); other filters count their rows.
  const counted = summaryTotal(accountId, f);
  const countAll = async () =>
    Number(
      (counted
        ? await db.selectNoFrom(counted.as('n')).executeTakeFirstOrThrow()
        : await filtered(db, accountId, f).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()
      ).n,
    );
  if (page.after !== undefined) {
    let q = filtered(db, accountId, f).selectAll('jobs');
    if (counted) q = q.select(counted.as('total_count')) as unknown as typeof q;
    const rows = (await q.where('jobs.id', '<', page.after).orderBy('jobs.id', 'desc').limit(page.limit + 1).execute()) as (JobRow & { total_count?: number })[];
    const total = counted && rows.length > 0 ? Number(rows[0]!.total_count) : await countAll();
    return { ...trimPage(rows.map(({ total_count: _t, ...r }) => r as JobRow), page.limit), total };
  }
  const rows = await filtered(db, accountId, f)
    .selectAll('jobs')
    .select((counted ?? sql<number>`count(*) over ()`).as('total_count'))
    .orderBy('jobs.id', 'desc')
    .limit(page.limit + 1)
    .offset(page.offset)
    .execute();
  if (rows.length > 0) {
    const total = Number(rows[0]!.total_count);
    return { ...trimPage(rows.map(({ total_count: _t, ...r }) => r as JobRow), page.limit), total };
  }
  return { rows: [], total: await countAll(), more: false };
}
