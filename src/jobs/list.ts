import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import type { JobStatus } from '../store/schema.js';
import { summaryTotal } from './list-total.js';

/** GET /v1/jobs filters; every one given must match (AND). Times are epoch ms, bounds exclusive. */
export interface JobFilters {
  status?: JobStatus[];
  operation?: string[];
  createdAfter?: number;
  createdBefore?: number;
  metadata?: Record<string, string>;
}

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
 * One page of an account's jobs, newest first, with the total of the same filter. The total comes
 * from the same statement (a window count), so a page and its total always describe one
 * snapshot, even while other processes insert jobs.
 */
export async function listJobs(db: Db, accountId: string, limit: number, offset: number, f: JobFilters): Promise<{ rows: JobRow[]; total: number }> {
  const counted = summaryTotal(accountId, f);
  const rows = await filtered(db, accountId, f)
    .selectAll('jobs')
    .select((counted ?? sql<number>`count(*) over ()`).as('total_count'))
    .orderBy('jobs.id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  if (rows.length > 0) {
    const total = Number(rows[0]!.total_count);
    return { rows: rows.map(({ total_count: _t, ...r }) => r as JobRow), total };
  }
  const n = counted
    ? await db.selectNoFrom(counted.as('n')).executeTakeFirstOrThrow()
    : await filtered(db, accountId, f).select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
  return { rows: [], total: Number(n.n) };
}
