import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';

export interface LedgerAudit {
  available: number;
  held: number;
  ledgerAvailable: number;
  ledgerHeld: number;
  grants: number;
  captures: number;
  /** Jobs that are terminal but whose hold rows do not net to zero. */
  unbalancedTerminalJobs: string[];
  /** Terminal jobs whose captured amount differs from the job's charged_micros. */
  chargeMismatches: string[];
}

const ACCOUNT = 'select id, available_micros, held_micros from accounts where name = $1';
const SUMS = `select coalesce(sum(delta_available),0) a, coalesce(sum(delta_held),0) h,
                coalesce(sum(case when kind='grant' then delta_available end),0) g,
                coalesce(-sum(case when kind='capture' then delta_held end),0) c
           from ledger where account_id = $1`;
const UNBALANCED = `select j.id from jobs j left join ledger l on l.job_id = j.id
          where j.account_id = $1 and j.status in ('completed','failed','canceled')
          group by j.id having coalesce(sum(l.delta_held),0) != 0`;
const MISMATCH = `select j.id from jobs j left join ledger l on l.job_id = j.id and l.kind = 'capture'
          where j.account_id = $1 and j.status in ('completed','failed','canceled')
          group by j.id, j.charged_micros having coalesce(-sum(l.delta_held),0) != j.charged_micros`;

type Query = (sql: string, arg: string) => Promise<Record<string, unknown>[]>;

/**
 * Reads the real database (the SQLite file, or the PostgreSQL database in scale-out mode) and
 * recomputes every balance from the ledger alone, the way an auditor would: the running totals
 * must equal the sum of the rows, holds must net to zero on terminal jobs, and spent money must
 * equal what the jobs say they charged.
 */
export async function auditLedger(target: { dataDir: string; databaseUrl?: string | null }, accountName: string): Promise<LedgerAudit> {
  let query: Query;
  let close: () => Promise<void>;
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    query = async (q, arg) => (await client.query(q, [arg])).rows;
    close = () => client.end();
  } else {
    const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
    query = async (q, arg) => db.prepare(q.replace('$1', '?')).all(arg) as Record<string, unknown>[];
    close = async () => {
      db.close();
    };
  }
  try {
    const [acc] = await query(ACCOUNT, accountName);
    if (!acc) throw new Error(`no account ${accountName}`);
    const id = String(acc.id);
    const [sums] = await query(SUMS, id);
    const unbalanced = await query(UNBALANCED, id);
    const mismatches = await query(MISMATCH, id);
    return {
      available: Number(acc.available_micros),
      held: Number(acc.held_micros),
      ledgerAvailable: Number(sums!.a),
      ledgerHeld: Number(sums!.h),
      grants: Number(sums!.g),
      captures: Number(sums!.c),
      unbalancedTerminalJobs: unbalanced.map((r) => String(r.id)),
      chargeMismatches: mismatches.map((r) => String(r.id)),
    };
  } finally {
    await close();
  }
}
