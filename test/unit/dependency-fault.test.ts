import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { S3Client, HeadBucketCommand } from '@aws-sdk/client-s3';
import { dependencyFault } from '../../src/util/dependency-fault.js';
import { openPostgres } from '../../src/store/postgres.js';
import { freePort } from '../helpers/faults.js';
import { PG_ADMIN_URL } from '../helpers/server.js';

/**
 * The classifier behind every 503 for a dependency that is down (src/util/dependency-fault.ts),
 * fed the errors the real libraries raise: nothing here is constructed by hand.
 */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected a failure');
}

describe('dependency faults are told apart from bugs', () => {
  it('SQLite locked by another connection (SQLITE_BUSY) is the database; a syntax error is not a fault', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-dep-')), 'x.sqlite');
    const a = new SQLite(file);
    a.exec('create table t (x int)');
    const b = new SQLite(file, { timeout: 10 });
    a.exec('BEGIN EXCLUSIVE');
    const busy = await thrown(() => b.exec('insert into t values (1)'));
    a.exec('ROLLBACK');
    assert.deepEqual(dependencyFault(busy), { dependency: 'database', retryAfterS: 2 });
    assert.equal(dependencyFault(await thrown(() => b.exec('selec 1'))), null);
    a.close();
    b.close();
  });

  it('a full disk (ENOSPC from /dev/full) is the disk', async () => {
    const e = await thrown(() => fs.writeFileSync('/dev/full', Buffer.alloc(4096)));
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    assert.deepEqual(dependencyFault(e), { dependency: 'disk', retryAfterS: 10 });
  });

  it('an S3 endpoint nobody listens on is the storage', async () => {
    const port = await freePort();
    const s3 = new S3Client({ region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, maxAttempts: 1, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    const e = await thrown(() => s3.send(new HeadBucketCommand({ Bucket: 'x' })));
    assert.equal(dependencyFault(e)?.dependency, 'storage');
    s3.destroy();
  });

  it('a PostgreSQL server that is not there, and a pool that cannot connect in time, are faults', async () => {
    const port = await freePort();
    const c = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/x` });
    assert.equal(dependencyFault(await thrown(() => c.connect()))?.dependency, 'network', 'a bare refused connect names no peer');
    // Through the store's pool, the same refusal is the database's (a worker hands its job back for it).
    const store = openPostgres(`postgres://postgres@127.0.0.1:${port}/x`, 2);
    assert.equal(dependencyFault(await thrown(() => store.db.selectFrom('accounts').selectAll().execute()))?.dependency, 'database');
    assert.equal(dependencyFault(await thrown(() => store.pool.query('select 1')))?.dependency, 'database');
    await store.db.destroy();
    // Every connection of the pool busy for longer than the acquisition bound (the shared server, loopback).
    const pool = new pg.Pool({ connectionString: PG_ADMIN_URL, max: 1, connectionTimeoutMillis: 100 });
    const held = await pool.connect();
    const timedOut = await thrown(() => pool.query('select 1'));
    assert.match(String((timedOut as Error).message), /timeout/);
    assert.equal(dependencyFault(timedOut)?.dependency, 'database');
    held.release();
    await pool.end();
  });

  it('a bug stays a bug', () => {
    assert.equal(dependencyFault(new TypeError("Cannot read properties of undefined (reading 'id')")), null);
    assert.equal(dependencyFault(null), null);
    assert.equal(dependencyFault('ECONNREFUSED'), null);
  });
});
