import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { LedgerKind } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { recordSpend } from './spending-caps.js';

/**
 * The ledger is the only way money moves. Each function writes one ledger row and applies the
 * same deltas to the account's running totals, inside the caller's transaction, so the job
 * state change that justifies the movement commits or rolls back together with it.
 *
 * Two columns per row keep the books exact: delta_available (spendable) and delta_held.
 *   grant    (+a, 0)     hold     (-p, +p)
 *   capture  (0, -c)     release  (+r, -r)
 * Once a job is terminal its holds, captures and releases net to zero in delta_held.
 */
async function post(
  trx: Db,
  accountId: string,
  jobId: string | null,
  kind: LedgerKind,
  deltaAvailable: number,
  deltaHeld: number,
  note: string | null,
): Promise<void> {
  await trx
    .insertInto('ledger')
    .values({
      id: newId(),
      account_id: accountId,
      job_id: jobId,
      kind,
      delta_available: deltaAvailable,
      delta_held: deltaHeld,
      note,
      created_at: Date.now(),
    })
    .execute();
}

export async function grant(trx: Db, accountId: string, micros: number, note: string | null): Promise<void> {
  if (!Number.isSafeInteger(micros) || micros <= 0) throw new Error('grant must be a positive amount');
  await trx
    .updateTable('accounts')
    .set({ available_micros: sql`available_micros + ${micros}` })
    .where('id', '=', accountId)
    .execute();
  await post(trx, accountId, null, 'grant', micros, 0, note);
}

/**
 * Moves `micros` from spendable to held if, and only if, the spendable balance covers it.
 * The check and the debit are one conditional UPDATE, so no interleaving of concurrent
 * submits (threads, processes, or PostgreSQL sessions) can drive a balance below zero.
 */
export async function hold(trx: Db, accountId: string, jobId: string, micros: number): Promise<boolean> {
  return holdMany(trx, accountId, [{ jobId, micros }]);
}

/**
 * Holds several jobs' prices at once (a batch's items), all or nothing: one conditional UPDATE for
 * the sum, so the balance is checked against the whole, and one hold row per job, so each job's
 * ledger nets to zero on its own once it ends. False (nothing written) when the balance is short.
 */
export async function holdMany(trx: Db, accountId: string, holds: readonly { jobId: string; micros: number }[]): Promise<boolean> {
  const total = holds.reduce((a, h) => a + h.micros, 0);
  if (!Number.isSafeInteger(total)) throw new Error('hold total is not a safe integer');
  if (total > 0) {
    const res = await trx
      .updateTable('accounts')
      .set({ available_micros: sql`available_micros - ${total}`, held_micros: sql`held_micros + ${total}` })
      .where('id', '=', accountId)
      .where('available_micros', '>=', total)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) return false;
  }
  const rows = holds.filter((h) => h.micros > 0);
  const now = Date.now();
  for (let i = 0; i < rows.length; i += 500) {
    await trx
      .insertInto('ledger')
      .values(rows.slice(i, i + 500).map((h) => ({ id: newId(), account_id: accountId, job_id: h.jobId, kind: 'hold' as const, delta_available: -h.micros, delta_held: h.micros, note: null, created_at: now })))
      .execute();
  }
  return true;
}

export async function capture(trx: Db, accountId: string, jobId: string, micros: number, note: string | null): Promise<void> {
  if (micros === 0) return;
  await trx
    .updateTable('accounts')
    .set({ held_micros: sql`held_micros - ${micros}` })
    .where('id', '=', accountId)
    .execute();
  await post(trx, accountId, jobId, 'capture', 0, -micros, note);
  await recordSpend(trx, accountId, micros);
}

export async function release(trx: Db, accountId: string, jobId: string, micros: number, note: string | null): Promise<void> {
  if (micros === 0) return;
  await trx
    .updateTable('accounts')
    .set({
      available_micros: sql`available_micros + ${micros}`,
      held_micros: sql`held_micros - ${micros}`,
    })
    .where('id', '=', accountId)
    .execute();
  await post(trx, accountId, jobId, 'release', micros, -micros, note);
}

export interface Balance {
  available: number;
  held: number;
}

export async function balanceOf(db: Db, accountId: string): Promise<Balance> {
  const row = await db
    .selectFrom('accounts')
    .select(['available_micros', 'held_micros'])
    .where('id', '=', accountId)
    .executeTakeFirstOrThrow();
  return { available: Number(row.available_micros), held: Number(row.held_micros) };
}

/** Recomputes a balance from the ledger alone; used by audits and tests to prove the running totals. */
export async function ledgerSum(db: Db, accountId: string): Promise<Balance> {
  const row = await db
    .selectFrom('ledger')
    .select([
      sql<number>`coalesce(sum(delta_available), 0)`.as('available'),
      sql<number>`coalesce(sum(delta_held), 0)`.as('held'),
    ])
    .where('account_id', '=', accountId)
    .executeTakeFirstOrThrow();
  return { available: Number(row.available), held: Number(row.held) };
}
