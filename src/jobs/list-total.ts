import { sql, type RawBuilder } from 'kysely';
import type { JobFilters } from './job-filters.js';

/**
 * The `total` of a GET /v1/jobs page as one scalar subquery of the page's own statement (so a page
 * and its total still describe one snapshot). Filters by status and operation alone are answered
 * from the per-account job counts (migration 0018: folded totals plus the deltas not folded yet), a
 * few rows whatever the account holds; time and metadata filters count the matching jobs, which
 * costs what the account's matching jobs number. Null: count the page's own rows instead.
 */
export function summaryTotal(accountId: string, f: JobFilters): RawBuilder<number> | null {
  if (f.createdAfter !== undefined || f.createdBefore !== undefined || Object.keys(f.metadata ?? {}).length > 0) return null;
  const where = (): RawBuilder<unknown> => {
    const parts = [sql`account_id = ${accountId}`, sql`in_batch = 0`];
    if (f.status?.length) parts.push(sql`status in (${sql.join(f.status)})`);
    if (f.operation?.length) parts.push(sql`operation in (${sql.join(f.operation)})`);
    return sql.join(parts, sql` and `);
  };
  return sql<number>`(select coalesce(sum(c.n), 0) from (
    select n from job_counts where ${where()}
    union all select d as n from job_count_deltas where ${where()}
  ) c)`;
}
