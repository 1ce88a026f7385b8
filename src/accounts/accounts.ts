import type { Db } from '../store/db.js';
import type { KeyScope } from '../store/schema.js';
import { newId } from '../util/ids.js';
import { grant } from '../billing/ledger.js';
import { generateApiKey, hashApiKey } from './api-keys.js';

export class OperatorError extends Error {}

export interface CreatedKey {
  key: string;
  keyId: string;
  keyName: string;
  accountId: string;
  accountCreated: boolean;
}

/** Creates the account named after the key if none exists yet, then a fresh key for it. */
export async function createKey(
  db: Db,
  opts: { name: string; account?: string; creditsMicros?: number; strictness?: 'normal' | 'liberal'; scope?: KeyScope },
): Promise<CreatedKey> {
  const accountName = opts.account ?? opts.name;
  return db.transaction().execute(async (trx) => {
    let account = await trx.selectFrom('accounts').select('id').where('name', '=', accountName).executeTakeFirst();
    if (account) {
      const existingKey = await trx.selectFrom('api_keys').select('id').where('account_id', '=', account.id).where('name', '=', opts.name).executeTakeFirst();
      if (existingKey) throw new OperatorError(`account "${accountName}" already has a key named "${opts.name}" (names are unique per account; pick another)`);
    }
    let accountCreated = false;
    if (!account) {
      account = { id: newId() };
      accountCreated = true;
      await trx
        .insertInto('accounts')
        .values({
          id: account.id,
          name: accountName,
          email: null,
          status: 'active',
          strictness: opts.strictness ?? 'normal',
          weight: 1,
          available_micros: 0,
          held_micros: 0,
          created_at: Date.now(),
        })
        .execute();
    }
    const key = generateApiKey();
    const keyId = newId();
    await trx
      .insertInto('api_keys')
      .values({
        id: keyId,
        account_id: account.id,
        name: opts.name,
        key_hash: hashApiKey(key),
        prefix: key.slice(0, 10),
        created_at: Date.now(),
        revoked_at: null,
        last_used_at: null,
        // The operator's key is the account owner's: admin unless asked otherwise.
        scope: opts.scope ?? 'admin',
      })
      .execute();
    if (opts.creditsMicros && opts.creditsMicros > 0) {
      await grant(trx, account.id, opts.creditsMicros, `grant at key creation (${opts.name})`);
    }
    return { key, keyId, keyName: opts.name, accountId: account.id, accountCreated };
  });
}

/**
 * The one key an operator names. Names are unique per account, so a name alone may match keys of
 * several accounts: then the operator must say which account (`--account`).
 */
async function keyByName(db: Db, name: string, account: string | undefined): Promise<{ id: string; account_id: string; revoked_at: number | string | null }> {
  let q = db
    .selectFrom('api_keys')
    .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
    .select(['api_keys.id as id', 'api_keys.account_id as account_id', 'api_keys.revoked_at as revoked_at', 'accounts.name as account'])
    .where('api_keys.name', '=', name);
  if (account !== undefined) q = q.where('accounts.name', '=', account);
  const rows = await q.orderBy('accounts.name').execute();
  if (rows.length === 0) throw new OperatorError(account === undefined ? `no key named "${name}"` : `account "${account}" has no key named "${name}"`);
  if (rows.length > 1) throw new OperatorError(`${rows.length} accounts have a key named "${name}" (${rows.map((r) => r.account).join(', ')}); say which with --account`);
  return rows[0]!;
}

export async function grantByKeyName(db: Db, keyName: string, micros: number, account?: string): Promise<{ accountId: string; available: number }> {
  if (!Number.isSafeInteger(micros) || micros <= 0) throw new OperatorError('the amount must be positive');
  return db.transaction().execute(async (trx) => {
    const k = await keyByName(trx, keyName, account);
    await grant(trx, k.account_id, micros, `operator grant via key ${keyName}`);
    const acc = await trx.selectFrom('accounts').select('available_micros').where('id', '=', k.account_id).executeTakeFirstOrThrow();
    return { accountId: k.account_id, available: Number(acc.available_micros) };
  });
}

export async function listKeys(db: Db) {
  return db
    .selectFrom('api_keys')
    .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
    .select([
      'api_keys.name as name',
      'api_keys.prefix as prefix',
      'api_keys.scope as scope',
      'api_keys.created_at as created_at',
      'api_keys.revoked_at as revoked_at',
      'api_keys.last_used_at as last_used_at',
      'accounts.name as account',
      'accounts.available_micros as available_micros',
      'accounts.held_micros as held_micros',
    ])
    .orderBy('api_keys.created_at', 'asc')
    .execute();
}

export async function revokeKey(db: Db, name: string, account?: string): Promise<void> {
  const k = await keyByName(db, name, account);
  const res = await db.updateTable('api_keys').set({ revoked_at: Date.now() }).where('id', '=', k.id).where('revoked_at', 'is', null).executeTakeFirst();
  if (Number(res.numUpdatedRows) !== 1) throw new OperatorError(`key "${name}" is already revoked`);
}
