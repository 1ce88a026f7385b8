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
 * Migration 0013 adds api_keys.scope: every key that exists keeps the full power it had (admin),
 * a row inserted without a scope (as older operator tooling does) is admin too, and nothing but
 * admin or generate is stored. On the real database of the mode (a SQLite file, or PostgreSQL).
 */
describe(`migration 0013: key scopes (${MODE})`, () => {
  let db: Db;
  let pgUrl: string | null = null;
  after(async () => {
    await db?.destroy();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  it('existing keys become admin keys; only admin and generate are accepted', async () => {
    if (MODE === 'embedded') db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-mig-')), 'easel.sqlite'));
    else db = openPostgres((pgUrl = await createDatabase()), 2).db;
    const migrator = new Migrator({ db: db as Kysely<unknown>, provider: migrationProvider });
    const before = await migrator.migrateTo('0011_fleet_backends');
    assert.equal(before.error, undefined);
    await db.insertInto('accounts').values({ id: 'a1', name: 'acct', email: null, status: 'active', strictness: 'normal', available_micros: 0, held_micros: 0, created_at: 1 } as never).execute();
    const key = (id: string, hash: string) => ({ id, account_id: 'a1', name: `k-${id}`, key_hash: hash, prefix: `esl_${id}`, created_at: 2, revoked_at: null, last_used_at: null });
    // Rows as 0011 knew them: no scope column yet.
    await db.insertInto('api_keys').values([key('k1', 'h1'), { ...key('k2', 'h2'), revoked_at: 3 }] as never).execute();

    const latest = await migrator.migrateToLatest();
    assert.equal(latest.error, undefined);
    assert.ok(latest.results?.some((r) => r.migrationName === '0013_key_scopes' && r.status === 'Success'));
    const rows = await db.selectFrom('api_keys').select(['id', 'scope']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 'k1', scope: 'admin' },
      { id: 'k2', scope: 'admin' },
    ]);

    await db.insertInto('api_keys').values(key('k3', 'h3') as never).execute();
    await db.insertInto('api_keys').values({ ...key('k4', 'h4'), scope: 'generate' }).execute();
    assert.deepEqual(await db.selectFrom('api_keys').select(['id', 'scope']).where('id', 'in', ['k3', 'k4']).orderBy('id').execute(), [
      { id: 'k3', scope: 'admin' },
      { id: 'k4', scope: 'generate' },
    ]);
    await assert.rejects(db.insertInto('api_keys').values({ ...key('k5', 'h5'), scope: 'root' as never }).execute(), /check/i, 'no other scope');
  });
});
