import type { Reader, Row } from '../store/reader.js';

/**
 * The ledger audit, the way an auditor would do it: every account's running totals
 * (available_micros, held_micros) must equal the sums of its ledger rows, the holds of an ended job
 * must net to zero, and what an ended job captured must equal the charged_micros it reports. One
 * implementation for `easel verify` (src/backup/verify.ts) and the tests (test/helpers/ledger.ts).
 * Pages of accounts and of jobs, each read inside one snapshot, so a live deployment is audited
 * without false alarms and without loading every row.
 */

export interface AccountTotals {
  id: string;
  available: number;
  held: number;
  ledgerAvailable: number;
  ledgerHeld: number;
  grants: number;
  captures: number;
}

export interface JobLedger {
  id: string;
  accountId: string;
  /** Ended (completed, failed, canceled) and its hold rows do not net to zero. */
  unbalanced: boolean;
  /** Ended and what its capture rows took differs from its charged_micros. */
  chargeMismatch: boolean;
  /** What its hold rows net to, and what its capture rows took. */
  heldNet: number;
  captured: number;
  /** The job row, for callers that check more than money (the blob check of `easel verify`). */
  row: Row;
}

export const TERMINAL = ['completed', 'failed', 'canceled'] as const;

const placeholders = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `$${i + from}`).join(',');

/** Ledger sums of the accounts whose id is in [from, to] (both inclusive): one grouped range scan of ledger_account_id. */
async function sumsOf(r: Reader, from: string, to: string): Promise<Map<string, Row>> {
  const rows = await r.query(
    `select account_id,
            coalesce(sum(delta_available),0) a, coalesce(sum(delta_held),0) h,
            coalesce(sum(case when kind='grant' then delta_available end),0) g,
            coalesce(-sum(case when kind='capture' then delta_held end),0) c
       from ledger where account_id >= $1 and account_id <= $2 group by account_id`,
    [from, to],
  );
  return new Map(rows.map((x) => [String(x.account_id), x]));
}

function totals(acc: Row, sums: Row | undefined): AccountTotals {
  return {
    id: String(acc.id),
    available: Number(acc.available_micros),
    held: Number(acc.held_micros),
    ledgerAvailable: Number(sums?.a ?? 0),
    ledgerHeld: Number(sums?.h ?? 0),
    grants: Number(sums?.g ?? 0),
    captures: Number(sums?.c ?? 0),
  };
}

/** Every account with its totals and ledger sums, `pageSize` accounts per snapshot. */
export async function* accountTotals(r: Reader, pageSize = 500): AsyncGenerator<AccountTotals> {
  let after = '';
  for (;;) {
    const page = await r.snapshot(async () => {
      const accs = await r.query('select id, available_micros, held_micros from accounts where id > $1 order by id limit $2', [after, pageSize]);
      if (accs.length === 0) return [];
      const sums = await sumsOf(r, String(accs[0]!.id), String(accs[accs.length - 1]!.id));
      return accs.map((a) => totals(a, sums.get(String(a.id))));
    });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

/** One account's totals (null when there is no such account). */
export async function accountTotalsOf(r: Reader, accountId: string): Promise<AccountTotals | null> {
  return r.snapshot(async () => {
    const [acc] = await r.query('select id, available_micros, held_micros from accounts where id = $1', [accountId]);
    if (!acc) return null;
    return totals(acc, (await sumsOf(r, accountId, accountId)).get(accountId));
  });
}

/**
 * Every job (of one account, or all) with the verdict on its ledger rows, `pageSize` jobs per
 * snapshot (keyset on the primary key; the job ids of a page are looked up in ledger_job_id).
 */
export async function* jobLedgers(r: Reader, opts: { accountId?: string; pageSize?: number; columns?: string[] } = {}): AsyncGenerator<JobLedger> {
  const pageSize = opts.pageSize ?? 500;
  const cols = ['id', 'account_id', 'status', 'charged_micros', ...(opts.columns ?? [])].join(', ');
  let after = '';
  for (;;) {
    const page = await r.snapshot(async () => {
      const jobs = opts.accountId
        ? await r.query(`select ${cols} from jobs where account_id = $1 and id > $2 order by id limit $3`, [opts.accountId, after, pageSize])
        : await r.query(`select ${cols} from jobs where id > $1 order by id limit $2`, [after, pageSize]);
      const ended = jobs.filter((j) => (TERMINAL as readonly string[]).includes(String(j.status)));
      const sums = new Map<string, Row>();
      if (ended.length > 0) {
        const ids = ended.map((j) => String(j.id));
        const rows = await r.query(
          `select job_id, coalesce(sum(delta_held),0) h, coalesce(-sum(case when kind='capture' then delta_held end),0) c
             from ledger where job_id in (${placeholders(ids.length)}) group by job_id`,
          ids,
        );
        for (const x of rows) sums.set(String(x.job_id), x);
      }
      return jobs.map((j): JobLedger => {
        const isEnded = (TERMINAL as readonly string[]).includes(String(j.status));
        const s = sums.get(String(j.id));
        return {
          id: String(j.id),
          accountId: String(j.account_id),
          unbalanced: isEnded && Number(s?.h ?? 0) !== 0,
          chargeMismatch: isEnded && Number(s?.c ?? 0) !== Number(j.charged_micros),
          heldNet: Number(s?.h ?? 0),
          captured: Number(s?.c ?? 0),
          row: j,
        };
      });
    });
    yield* page;
    if (page.length < pageSize) return;
    after = page[page.length - 1]!.id;
  }
}

