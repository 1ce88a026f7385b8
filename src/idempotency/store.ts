import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { IDEMPOTENCY_TTL_MS, type IdempotencyClaim } from './request.js';

/** Thrown inside the submit transaction when another request already holds the key: rolls it back. */
export class IdempotencyTaken extends Error {
  constructor() {
    super('idempotency key taken');
  }
}

/** A unique-constraint violation, in either dialect (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_*). */
export function isUniqueViolation(e: unknown): boolean {
  const code = String((e as { code?: unknown })?.code ?? '');
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/**
 * The job an unexpired key already names, or null. Same key with another fingerprint → 409.
 */
export async function findIdempotent(db: Db, accountId: string, claim: IdempotencyClaim): Promise<string | null> {
  const row = await db
    .selectFrom('idempotency_keys')
    .select(['request_hash', 'job_id'])
    .where('account_id', '=', accountId)
    .where('key', '=', claim.key)
    .where('expires_at', '>', Date.now())
    .executeTakeFirst();
  if (!row) return null;
  if (row.request_hash !== claim.hash) {
    throw new EaselError(
      409,
      'idempotency_conflict',
      'This Idempotency-Key was already used with a different request (endpoint or body) in the last 24 hours. Use a new key for a new request.',
      { job_id: row.job_id },
    );
  }
  return row.job_id;
}

/**
 * Records the key for a job inside the job's own transaction, before anything else of it: a
 * concurrent request with the same key blocks on (PostgreSQL) or serialises behind (SQLite) the
 * primary key, and gets IdempotencyTaken once the first commits, so exactly one job is created.
 * An expired row for the key is replaced.
 */
export async function claimIdempotency(trx: Db, accountId: string, claim: IdempotencyClaim, jobId: string): Promise<void> {
  const now = Date.now();
  await trx.deleteFrom('idempotency_keys').where('account_id', '=', accountId).where('key', '=', claim.key).where('expires_at', '<=', now).execute();
  try {
    await trx
      .insertInto('idempotency_keys')
      .values({ account_id: accountId, key: claim.key, request_hash: claim.hash, job_id: jobId, created_at: now, expires_at: now + IDEMPOTENCY_TTL_MS })
      .execute();
  } catch (e) {
    if (isUniqueViolation(e)) throw new IdempotencyTaken();
    throw e;
  }
}

/** Keys dropped per statement: each delete is a short write transaction (SQLite has one writer). */
const SWEEP_BATCH = 1000;

/**
 * Drops keys past their 24 h (run by the workers' retention sweep; lookups ignore expired rows
 * anyway), a batch at a time through the expiry index, with a turn of the event loop between
 * batches so submits are not held behind a large backlog.
 */
export async function sweepIdempotencyKeys(db: Db, now = Date.now()): Promise<number> {
  let n = 0;
  for (;;) {
    const r = await sql`delete from idempotency_keys where (account_id, key) in (select account_id, key from idempotency_keys where expires_at <= ${now} limit ${SWEEP_BATCH})`.execute(db);
    const deleted = Number(r.numAffectedRows ?? 0);
    n += deleted;
    if (deleted < SWEEP_BATCH) return n;
    await nextTurn();
  }
}
