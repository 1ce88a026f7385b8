import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Migrator, type Kysely } from 'kysely';
import { MODE, createDatabase, dropDatabase } from '../helpers/server.js';
import { openSqlite, type Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { migrationProvider } from '../../src/store/migrations.js';

/**
 * Migration 0007 rebuilds api_keys (SQLite cannot drop a column's UNIQUE) so that key names are
 * unique per account: an existing database keeps every key, hash and timestamp, and afterwards the
 * same name may exist in two accounts but not twice in one; hashes stay unique and the account
 * foreign key holds. On the real database of the mode (a SQLite file, or PostgreSQL).
 */
describe(`migration 0007: key names unique per account (${MODE})`, () => {
  let db: Db;
  let pgUrl: string | null = null;
  after(async () => {
    await db?.destroy();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  it('keeps existing keys and moves the uniqueness from the name to (account, name)', async () => {
    if (MODE === 'embedded') db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-mig-')), 'easel.sqlite'));
    else db = openPostgres((pgUrl = await createDatabase()), 2).db;
    const migrator = new Migrator({ db: db as Kysely<unknown>, provider: migrationProvider });
    const before = await migrator.migrateTo('0006_account_retention');
    assert.equal(before.error, undefined);
    const account = (id: string) => ({ id, name: `acct-${id}`, email: null, status: 'active' as const, strictness: 'normal' as const, available_micros: 0, held_micros: 0, created_at: 1 });
    const key = (id: string, accountId: string, name: string, hash: string) => ({ id, account_id: accountId, name, key_hash: hash, prefix: `esl_${id}`, created_at: 2, revoked_at: null, last_used_at: null }) as never;
    // Typed against today's schema; the rows are what 0006 knew (later columns have defaults).
    await db.insertInto('accounts').values([account('a1'), account('a2')] as never).execute();
    await db.insertInto('api_keys').values({ ...(key('k1', 'a1', 'ci', 'h1') as object), revoked_at: 5, last_used_at: 4 } as never).execute();

    const latest = await migrator.migrateToLatest();
    assert.equal(latest.error, undefined);
    assert.ok(latest.results?.some((r) => r.migrationName === '0007_key_names_per_account' && r.status === 'Success'));
    const rows = await db.selectFrom('api_keys').selectAll().execute();
    assert.deepEqual(rows.map((r) => ({ ...r, created_at: Number(r.created_at), revoked_at: Number(r.revoked_at), last_used_at: Number(r.last_used_at) })), [
      // scope: migration 0013 keeps every existing key an admin key.
      { id: 'k1', account_id: 'a1', name: 'ci', key_hash: 'h1', prefix: 'esl_k1', created_at: 2, revoked_at: 5, last_used_at: 4, scope: 'admin' },
    ]);

    await db.insertInto('api_keys').values(key('k2', 'a2', 'ci', 'h2')).execute(); // the same name, another account
    await assert.rejects(db.insertInto('api_keys').values(key('k3', 'a2', 'ci', 'h3')).execute(), /unique|duplicate/i, 'twice in one account');
    await assert.rejects(db.insertInto('api_keys').values(key('k4', 'a2', 'other', 'h2')).execute(), /unique|duplicate/i, 'a hash stays unique');
    await assert.rejects(db.insertInto('api_keys').values(key('k5', 'nobody', 'x', 'h5')).execute(), /foreign key/i, 'the account must exist');
  });
});
