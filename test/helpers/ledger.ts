import path from 'node:path';
import { accountTotalsOf, jobLedgers } from '../../src/billing/ledger-audit.js';
import { postgresReader, sqliteReader } from '../../src/store/reader.js';

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
 * Reads the real database (the SQLite file, or the PostgreSQL database in scale-out mode) and
 * recomputes every balance from the ledger alone, the way an auditor would: the running totals
 * must equal the sum of the rows, holds must net to zero on terminal jobs, and spent money must
 * equal what the jobs say they charged. The audit itself is the server's (src/billing/ledger-audit.ts),
 * the one `easel verify` runs.
 */
export async function auditLedger(target: { dataDir: string; databaseUrl?: string | null }, accountName: string): Promise<LedgerAudit> {
  const r = target.databaseUrl ? await postgresReader(target.databaseUrl) : sqliteReader(path.join(target.dataDir, 'easel.sqlite'));
  try {
    const [acc] = await r.query('select id from accounts where name = $1', [accountName]);
    if (!acc) throw new Error(`no account ${accountName}`);
    const id = String(acc.id);
    const t = await accountTotalsOf(r, id);
    if (!t) throw new Error(`no account ${accountName}`);
    const unbalancedTerminalJobs: string[] = [];
    const chargeMismatches: string[] = [];
    for await (const j of jobLedgers(r, { accountId: id })) {
      if (j.unbalanced) unbalancedTerminalJobs.push(j.id);
      if (j.chargeMismatch) chargeMismatches.push(j.id);
    }
    const { available, held, ledgerAvailable, ledgerHeld, grants, captures } = t;
    return { available, held, ledgerAvailable, ledgerHeld, grants, captures, unbalancedTerminalJobs, chargeMismatches };
  } finally {
    await r.close();
  }
}
