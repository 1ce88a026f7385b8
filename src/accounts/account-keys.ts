import crypto from 'node:crypto';
import type { Db } from '../store/db.js';
import type { KeyScope } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { isoSeconds } from '../util/time.js';
import { EaselError, conflict } from '../errors.js';
import { isUniqueViolation } from '../idempotency/store.js';
import { generateApiKey, hashApiKey } from './api-keys.js';

/** Active keys one account may hold: enough for every environment, few enough that a leaked key cannot mint thousands. */
export const MAX_ACTIVE_KEYS = 50;

interface KeyRow {
  id: string;
  name: string;
  scope: KeyScope;
  prefix: string;
  created_at: number | string;
  last_used_at: number | string | null;
  revoked_at: number | string | null;
}

const at = (v: number | string | null) => (v == null ? null : isoSeconds(Number(v)));

export function keyView(r: KeyRow, currentKeyId: string) {
  return {
    id: r.id,
    name: r.name,
    scope: r.scope,
    prefix: r.prefix,
    created_at: isoSeconds(Number(r.created_at)),
    last_used_at: at(r.last_used_at),
    revoked_at: at(r.revoked_at),
    current: r.id === currentKeyId,
  };
}

const COLUMNS = ['id', 'name', 'scope', 'prefix', 'created_at', 'last_used_at', 'revoked_at'] as const;

/** The account's keys, oldest first. Never the hash. */
export async function listAccountKeys(db: Db, accountId: string): Promise<KeyRow[]> {
  return db.selectFrom('api_keys').select(COLUMNS).where('account_id', '=', accountId).orderBy('created_at', 'asc').orderBy('id', 'asc').execute();
}

/** A new key for an existing account (unlike the operator's createKey, which may create the account). */
export async function createAccountKey(db: Db, accountId: string, name: string | undefined, scope: KeyScope): Promise<KeyRow & { key: string }> {
  const key = generateApiKey();
  const row = {
    id: newId(),
    account_id: accountId,
    name: name ?? `key-${crypto.randomBytes(4).toString('hex')}`,
    scope,
    key_hash: hashApiKey(key),
    prefix: key.slice(0, 10),
    created_at: Date.now(),
    revoked_at: null,
    last_used_at: null,
  };
  try {
    await db.transaction().execute(async (trx) => {
      const active = await trx
        .selectFrom('api_keys')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('account_id', '=', accountId)
        .where('revoked_at', 'is', null)
        .executeTakeFirstOrThrow();
      if (Number(active.n) >= MAX_ACTIVE_KEYS) {
        throw new EaselError(409, 'conflict', `An account holds at most ${MAX_ACTIVE_KEYS} active keys; revoke one first.`, { limit: MAX_ACTIVE_KEYS });
      }
      await trx.insertInto('api_keys').values(row).execute();
    });
  } catch (e) {
    // Names are unique within the account (migration 0007): another account's names are never revealed.
    if (isUniqueViolation(e)) throw conflict(`You already have a key named "${row.name}" (revoked keys keep their names); pick another name.`, { field: 'name' });
    throw e;
  }
  return { ...row, key };
}

/**
 * Revokes one of the account's keys (the one in use included). Another account's key is
 * answered exactly like a missing one: null. Revoking a revoked key is a no-op.
 */
export async function revokeAccountKey(db: Db, accountId: string, keyId: string): Promise<KeyRow | null> {
  await db
    .updateTable('api_keys')
    .set({ revoked_at: Date.now() })
    .where('id', '=', keyId)
    .where('account_id', '=', accountId)
    .where('revoked_at', 'is', null)
    .execute();
  const row = await db.selectFrom('api_keys').select(COLUMNS).where('id', '=', keyId).where('account_id', '=', accountId).executeTakeFirst();
  return row ?? null;
}
