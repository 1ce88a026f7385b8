import path from 'node:path';
import SQLite from 'better-sqlite3';

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

/**
 * Reads the real SQLite file (read-only) and recomputes every balance from the ledger alone,
 * the way an auditor would: the running totals must equal the sum of the rows, holds must net
 * to zero on terminal jobs, and spent money must equal what the jobs say they charged.
 */
export function auditLedger(dataDir: string, accountName: string): LedgerAudit {
  const db = new SQLite(path.join(dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    const acc = db.prepare('select id, available_micros, held_micros from accounts where name = ?').get(accountName) as
      | { id: string; available_micros: number; held_micros: number }
      | undefined;
    if (!acc) throw new Error(`no account ${accountName}`);
    const sums = db
      .prepare(
        `select coalesce(sum(delta_available),0) a, coalesce(sum(delta_held),0) h,
                coalesce(sum(case when kind='grant' then delta_available end),0) g,
                coalesce(-sum(case when kind='capture' then delta_held end),0) c
           from ledger where account_id = ?`,
      )
      .get(acc.id) as { a: number; h: number; g: number; c: number };
    const unbalanced = db
      .prepare(
        `select j.id from jobs j left join ledger l on l.job_id = j.id
          where j.account_id = ? and j.status in ('completed','failed','canceled')
          group by j.id having coalesce(sum(l.delta_held),0) != 0`,
      )
      .all(acc.id) as { id: string }[];
    const mismatches = db
      .prepare(
        `select j.id from jobs j left join ledger l on l.job_id = j.id and l.kind = 'capture'
          where j.account_id = ? and j.status in ('completed','failed','canceled')
          group by j.id having coalesce(-sum(l.delta_held),0) != j.charged_micros`,
      )
      .all(acc.id) as { id: string }[];
    return {
      available: acc.available_micros,
      held: acc.held_micros,
      ledgerAvailable: sums.a,
      ledgerHeld: sums.h,
      grants: sums.g,
      captures: sums.c,
      unbalancedTerminalJobs: unbalanced.map((r) => r.id),
      chargeMismatches: mismatches.map((r) => r.id),
    };
  } finally {
    db.close();
  }
}
