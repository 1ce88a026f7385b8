import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { decodeCursor, encodeCursor, trimPage, type PageAt, type PageOf } from '../util/cursor.js';
import { UUID_RE } from '../util/ids.js';
import type { Selectable } from 'kysely';
import type { LedgerTable } from '../store/schema.js';

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
 * One page of an account's ledger, newest first (id descending: ids are UUIDv7, so id order is
 * time order, and (account_id, id) is indexed).
 *
 * With `after` (a ledger id, from the cursor of the previous page) the page is a keyset read,
 * `id < after`: entries written meanwhile sort before it, so a walk sees every entry that existed
 * when it started exactly once. Without it, Depicta-style offset. Either way the total is the
 * account's row count read in the same statement, so a page and its total describe one snapshot.
 */
export async function ledgerPage(db: Db, accountId: string, page: PageAt<string>): Promise<PageOf<LedgerEntryView>> {
  const base = db.selectFrom('ledger').where('account_id', '=', accountId);
  // The account's ledger rows, kept by a trigger (migration 0018): one row read in the page's own
  // statement, not every entry counted.
  const ledgerRows = sql<number>`(select ledger_rows from accounts where id = ${accountId})`;
  let q = base.selectAll().select(ledgerRows.as('total_count')).orderBy('id', 'desc').limit(page.limit + 1);
  q = page.after !== undefined ? q.where('id', '<', page.after) : q.offset(page.offset);
  const counted = await q.execute();
  const total: number | undefined = counted.length > 0 ? Number(counted[0]!.total_count) : undefined;
  const rows: Selectable<LedgerTable>[] = counted.map(({ total_count: _t, ...r }) => r);
  const { rows: shown, more } = trimPage(rows, page.limit);
  return {
    total: total ?? Number((await db.selectNoFrom(ledgerRows.as('n')).executeTakeFirstOrThrow()).n),
    more,
    rows: shown.map((r) => ({
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

/** A ledger cursor: the entry's id, behind the opaque wrapper (src/util/cursor.ts, kind `l`). */
export const ledgerCursor = {
  encode: (e: { id: string }): string => encodeCursor('l', [e.id]),
  decode: (token: string): string | null => {
    const f = decodeCursor(token, 'l', 1);
    return f && UUID_RE.test(f[0]!) ? f[0]!.toLowerCase() : null;
  },
};
