import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';

/** Counts and money for one operation (or one month, or all of it). */
export interface UsageCounts {
  jobs: number;
  completed: number;
  failed: number;
  /** What was charged: completed jobs, plus the finished steps of failed stories. */
  charged_eur: string;
}

export interface Usage {
  total: UsageCounts;
  by_operation: ({ operation: string } & UsageCounts)[];
  /** Newest month first; months are UTC `YYYY-MM`. */
  by_month: ({ month: string; by_operation: ({ operation: string } & UsageCounts)[] } & UsageCounts)[];
}

interface Acc {
  jobs: number;
  completed: number;
  failed: number;
  charged: number;
}

const zero = (): Acc => ({ jobs: 0, completed: 0, failed: 0, charged: 0 });
const add = (a: Acc, b: Acc) => {
  a.jobs += b.jobs;
  a.completed += b.completed;
  a.failed += b.failed;
  a.charged += b.charged;
};
const view = (a: Acc): UsageCounts => ({ jobs: a.jobs, completed: a.completed, failed: a.failed, charged_eur: microsToEur(a.charged) });

/** An account's usage by operation and UTC month of creation, folded here into totals per operation and per month. */
export async function accountUsage(db: Db, accountId: string): Promise<Usage> {
  // From the usage summary (migration 0018: folded rows plus deltas not folded yet), a few rows per
  // operation and month, however many jobs the account has.
  const r = await sql<{ operation: string; month: string; jobs: number | string; completed: number | string; failed: number | string; charged: number | string }>`
    select operation, month, sum(jobs) as jobs, sum(completed) as completed, sum(failed) as failed, sum(charged) as charged from (
      select operation, month, jobs, completed, failed, charged from usage_counts where account_id = ${accountId}
      union all select operation, month, jobs, completed, failed, charged from usage_deltas where account_id = ${accountId}
    ) u group by operation, month`.execute(db);
  const rows = r.rows.filter((x) => Number(x.jobs) !== 0);
  const total = zero();
  const byOp = new Map<string, Acc>();
  const byMonth = new Map<string, { all: Acc; ops: Map<string, Acc> }>();
  for (const r of rows) {
    const a: Acc = { jobs: Number(r.jobs), completed: Number(r.completed), failed: Number(r.failed), charged: Number(r.charged) };
    add(total, a);
    const op = byOp.get(r.operation) ?? zero();
    add(op, a);
    byOp.set(r.operation, op);
    const m = byMonth.get(r.month) ?? { all: zero(), ops: new Map<string, Acc>() };
    add(m.all, a);
    const mo = m.ops.get(r.operation) ?? zero();
    add(mo, a);
    m.ops.set(r.operation, mo);
    byMonth.set(r.month, m);
  }
  const ops = (m: Map<string, Acc>) => [...m.entries()].sort(([x], [y]) => x.localeCompare(y)).map(([operation, a]) => ({ operation, ...view(a) }));
  return {
    total: view(total),
    by_operation: ops(byOp),
    by_month: [...byMonth.entries()]
      .sort(([x], [y]) => y.localeCompare(x))
      .map(([m, v]) => ({ month: m, ...view(v.all), by_operation: ops(v.ops) })),
  };
}

export interface LedgerEntryView {
  id: string;
  kind: string;
  /** The change to the spendable balance (delta_available). */
  amount_eur: string;
  /** The change to the held amount (delta_held). */
  held_delta_eur: string;
  job_id: string | null;
  note: string | null;
  created_at: string;
}

/**
 * One page of an account's ledger, newest first. The total comes from the same statement (a
 * window count), so a page and its total describe one snapshot.
 */
export async function ledgerPage(db: Db, accountId: string, limit: number, offset: number): Promise<{ entries: LedgerEntryView[]; total: number }> {
  const rows = await db
    .selectFrom('ledger')
    .selectAll()
    // The account's ledger rows, kept by a trigger (migration 0018): one row read, not every entry counted.
    .select(sql<number>`(select ledger_rows from accounts where id = ${accountId})`.as('total_count'))
    .where('account_id', '=', accountId)
    // Ids are UUIDv7: id order is time order, and (account_id, id) is indexed.
    .orderBy('id', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
  let total: number;
  if (rows.length > 0) total = Number(rows[0]!.total_count);
  else {
    const n = await db.selectFrom('accounts').select('ledger_rows').where('id', '=', accountId).executeTakeFirst();
    total = Number(n?.ledger_rows ?? 0);
  }
  return {
    total,
    entries: rows.map((r) => ({
      id: r.id,
      kind: r.kind,
      amount_eur: microsToEur(Number(r.delta_available)),
      held_delta_eur: microsToEur(Number(r.delta_held)),
      job_id: r.job_id,
      note: r.note,
      created_at: isoSeconds(Number(r.created_at)),
    })),
  };
}
