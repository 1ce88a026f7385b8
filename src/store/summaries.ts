import { PostgresAdapter, sql } from 'kysely';
import type { Db } from './db.js';

/**
 * Reads and folds the summaries of migration 0018 (src/store/migrations-counters.ts): jobs by state
 * and operation, ledger totals by kind. A reader adds the folded totals and the deltas not folded
 * yet, so it is exact at any moment; folding only keeps the delta tables short (it runs with each
 * scrape and each retention sweep), never changes what a reader sees.
 */

const isPg = (db: Db) => db.getExecutor().adapter instanceof PostgresAdapter;

/** Moves every delta into the totals, in one transaction per table. Safe from several processes at once. */
export async function foldSummaries(db: Db): Promise<void> {
  if (isPg(db)) {
    await db.transaction().execute(async (trx) => {
      // One folder at a time (another one running means the deltas are being folded anyway); the
      // readers stay exact either way.
      const got = await sql<{ ok: boolean }>`select pg_try_advisory_xact_lock(hashtext('easel_fold_summaries')) as ok`.execute(trx);
      if (!got.rows[0]?.ok) return;
      await sql`
        with moved as (delete from job_count_deltas returning account_id, in_batch, status, operation, d),
        per_account as (
          insert into job_counts (account_id, in_batch, status, operation, n)
          select account_id, in_batch, status, operation, sum(d) from moved group by 1, 2, 3, 4 order by 1, 2, 3, 4
          on conflict (account_id, in_batch, status, operation) do update set n = job_counts.n + excluded.n
        )
        insert into job_totals (status, operation, n)
        select status, operation, sum(d) from moved group by 1, 2 order by 1, 2
        on conflict (status, operation) do update set n = job_totals.n + excluded.n`.execute(trx);
      await sql`
        with moved as (delete from usage_deltas returning account_id, operation, month, jobs, completed, failed, charged)
        insert into usage_counts (account_id, operation, month, jobs, completed, failed, charged)
        select account_id, operation, month, sum(jobs), sum(completed), sum(failed), sum(charged) from moved group by 1, 2, 3 order by 1, 2, 3
        on conflict (account_id, operation, month) do update set jobs = usage_counts.jobs + excluded.jobs, completed = usage_counts.completed + excluded.completed,
          failed = usage_counts.failed + excluded.failed, charged = usage_counts.charged + excluded.charged`.execute(trx);
      await sql`
        with moved as (delete from ledger_total_deltas returning kind, available, held)
        insert into ledger_totals (kind, available, held)
        select kind, sum(available), sum(held) from moved group by kind order by kind
        on conflict (kind) do update set available = ledger_totals.available + excluded.available, held = ledger_totals.held + excluded.held`.execute(trx);
    });
    return;
  }
  await db.transaction().execute(async (trx) => {
    const j = await sql<{ m: number | null }>`select max(rowid) as m from job_count_deltas`.execute(trx);
    const jm = j.rows[0]?.m;
    if (jm != null) {
      await sql`
        insert into job_counts (account_id, in_batch, status, operation, n)
        select account_id, in_batch, status, operation, sum(d) from job_count_deltas where rowid <= ${jm} group by 1, 2, 3, 4
        on conflict (account_id, in_batch, status, operation) do update set n = job_counts.n + excluded.n`.execute(trx);
      await sql`
        insert into job_totals (status, operation, n)
        select status, operation, sum(d) from job_count_deltas where rowid <= ${jm} group by 1, 2
        on conflict (status, operation) do update set n = job_totals.n + excluded.n`.execute(trx);
      await sql`delete from job_count_deltas where rowid <= ${jm}`.execute(trx);
    }
    const u = await sql<{ m: number | null }>`select max(rowid) as m from usage_deltas`.execute(trx);
    const um = u.rows[0]?.m;
    if (um != null) {
      await sql`
        insert into usage_counts (account_id, operation, month, jobs, completed, failed, charged)
        select account_id, operation, month, sum(jobs), sum(completed), sum(failed), sum(charged) from usage_deltas where rowid <= ${um} group by 1, 2, 3
        on conflict (account_id, operation, month) do update set jobs = usage_counts.jobs + excluded.jobs, completed = usage_counts.completed + excluded.completed,
          failed = usage_counts.failed + excluded.failed, charged = usage_counts.charged + excluded.charged`.execute(trx);
      await sql`delete from usage_deltas where rowid <= ${um}`.execute(trx);
    }
    const l = await sql<{ m: number | null }>`select max(rowid) as m from ledger_total_deltas`.execute(trx);
    const lm = l.rows[0]?.m;
    if (lm != null) {
      await sql`
        insert into ledger_totals (kind, available, held)
        select kind, sum(available), sum(held) from ledger_total_deltas where rowid <= ${lm} group by kind
        on conflict (kind) do update set available = ledger_totals.available + excluded.available, held = ledger_totals.held + excluded.held`.execute(trx);
      await sql`delete from ledger_total_deltas where rowid <= ${lm}`.execute(trx);
    }
  });
}

/** Jobs in the store by status and operation (every job, batch items and batches included). */
export async function jobCounts(db: Db): Promise<{ status: string; operation: string; n: number }[]> {
  const r = await sql<{ status: string; operation: string; n: number | string }>`
    select status, operation, sum(n) as n from (
      select status, operation, n from job_totals
      union all select status, operation, d as n from job_count_deltas
    ) t group by status, operation`.execute(db);
  return r.rows.map((x) => ({ status: x.status, operation: x.operation, n: Number(x.n) })).filter((x) => x.n !== 0);
}

/** The ledger's sums by kind: what every row of that kind added to available and to held. */
export async function ledgerTotals(db: Db): Promise<{ kind: string; a: number; h: number }[]> {
  const r = await sql<{ kind: string; a: number | string; h: number | string }>`
    select kind, sum(available) as a, sum(held) as h from (
      select kind, available, held from ledger_totals
      union all select kind, available, held from ledger_total_deltas
    ) t group by kind`.execute(db);
  return r.rows.map((x) => ({ kind: x.kind, a: Number(x.a), h: Number(x.h) }));
}
