import type { Db } from '../store/db.js';
import { compiledOnceSync } from '../store/compiled-once.js';
import type { KeyScope } from '../store/schema.js';

/** An API key's row with its account's state: what authenticating a request needs. */
export interface KeyHolder {
  key_id: string;
  key_hash: string;
  scope: KeyScope;
  revoked_at: number | string | null;
  last_used_at: number | string | null;
  account_id: string;
  status: 'active' | 'suspended';
  strictness: 'normal' | 'liberal';
}

export interface KeyLookup {
  /** Synchronous where the store can answer at once (SQLite), a promise otherwise. */
  byHash(hash: string): KeyHolder | undefined | Promise<KeyHolder | undefined>;
  /** Records that the key was used now (GET /v1/keys shows it). */
  touch(keyId: string, now: number): Promise<void>;
  /** Which of these keys still authenticate (not revoked, account active): read from the store, so every process agrees. */
  usable(keyIds: readonly string[]): Promise<Set<string>>;
}

/** Ids per IN list: well under every driver's parameter limit. */
const IDS_PER_QUERY = 500;

/** The key reads of every authenticated request; the lookup is compiled once (src/store/compiled-once.ts). */
export function keyLookup(db: Db): KeyLookup {
  const keyByHash = compiledOnceSync(db, 1, (hash) =>
    db
      .selectFrom('api_keys')
      .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
      .select(['api_keys.id as key_id', 'api_keys.key_hash as key_hash', 'api_keys.scope as scope', 'api_keys.revoked_at as revoked_at', 'api_keys.last_used_at as last_used_at', 'accounts.id as account_id', 'accounts.status as status', 'accounts.strictness as strictness'])
      .where('api_keys.key_hash', '=', hash),
  );
  return {
    byHash: (hash) => {
      const rows = keyByHash(hash);
      return rows instanceof Promise ? rows.then((r) => r[0]) : rows[0];
    },
    touch: async (keyId, now) => {
      await db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', keyId).execute();
    },
    usable: async (keyIds) => {
      const out = new Set<string>();
      for (let i = 0; i < keyIds.length; i += IDS_PER_QUERY) {
        const rows = await db
          .selectFrom('api_keys')
          .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
          .select('api_keys.id as id')
          .where('api_keys.id', 'in', keyIds.slice(i, i + IDS_PER_QUERY))
          .where('api_keys.revoked_at', 'is', null)
          .where('accounts.status', '=', 'active')
          .execute();
        for (const r of rows) out.add(r.id);
      }
      return out;
    },
  };
}
