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
import net from 'node:net';
import { sql } from 'kysely';
import { PG_ADMIN_URL, createDatabase, dropDatabase } from '../helpers/server.js';

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

  it('a PostgreSQL server that stops answering: the query times out as a database fault, and its connection is not reused', async () => {
    const url = await createDatabase();
    const proxy = await FreezingProxy.start(new URL(url));
    const store = openPostgres(proxy.url(url), 1, { queryTimeoutMs: 800 });
    try {
      await sql`create table hang_probe (x int)`.execute(store.db);
      const before = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0]!.pid;
      // The server runs the insert, but its answers are held: a frozen server as the client sees it.
      proxy.freeze();
      const started = Date.now();
      const e = await thrown(() => store.db.transaction().execute((trx) => sql`insert into hang_probe values (1)`.execute(trx)));
      const waited = Date.now() - started;
      // The transaction's own ROLLBACK cannot reach the server either; whichever error surfaces is the database's.
      assert.match(String((e as Error).message), /Query read timeout|not queryable/);
      assert.deepEqual(dependencyFault(e), { dependency: 'database', retryAfterS: 2 });
      assert.ok(waited < 30_000, `bounded (${waited} ms)`);
      assert.equal(store.pool.totalCount, 0, 'the connection whose query timed out left the pool');
      proxy.thaw();
      const after = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(store.db)).rows[0]!.pid;
      assert.notEqual(after, before, 'a fresh connection, not the one stuck mid-transaction');
      // The abandoned transaction was rolled back by the server, never committed by a later borrower.
      for (let i = 0; i < 100; i++) {
        const alive = (await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where pid = ${before}`.execute(store.db)).rows[0]!.n;
        if (alive === 0) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal((await sql<{ n: number }>`select count(*)::int as n from hang_probe`.execute(store.db)).rows[0]!.n, 0);
      // A bare timed-out query through pg-pool's own `query` is the same fault.
      proxy.freeze();
      assert.deepEqual(dependencyFault(await thrown(() => store.pool.query('select 1'))), { dependency: 'database', retryAfterS: 2 });
      proxy.thaw();
      assert.equal((await store.pool.query('select 1 as one')).rows[0].one, 1);
    } finally {
      proxy.thaw();
      await store.db.destroy();
      await proxy.close();
      await dropDatabase(url);
    }
  });

  it('a transaction left idle (its process stopped): the server ends it and frees its row lock; its next statement is a database fault, and nothing of it is kept', async () => {
    const url = await createDatabase();
    const stopped = openPostgres(url, 1, { queryTimeoutMs: 8000, idleInTransactionTimeoutMs: 1000 });
    const other = openPostgres(url, 1, { queryTimeoutMs: 8000, idleInTransactionTimeoutMs: 1000 });
    try {
      await sql`create table idle_probe (id int primary key, v int)`.execute(other.db);
      await sql`insert into idle_probe values (1, 0)`.execute(other.db);
      let otherDone: Promise<unknown> | null = null;
      const e = await thrown(() =>
        stopped.db.transaction().execute(async (trx) => {
          await sql`update idle_probe set v = 1 where id = 1`.execute(trx);
          // The row is locked; another session's update of it waits. Then this process sends nothing, as a
          // stopped one does, for longer than the bound: only the server can end the wait.
          otherDone = sql`update idle_probe set v = 2 where id = 1`.execute(other.db);
          await new Promise((r) => setTimeout(r, 2500));
          await sql`update idle_probe set v = v + 10 where id = 1`.execute(trx);
        }),
      );
      assert.deepEqual(dependencyFault(e), { dependency: 'database', retryAfterS: 2 }, String(e));
      // The waiter got the lock (well within its own 8 s query bound), and the ended transaction left nothing.
      await otherDone;
      assert.equal((await sql<{ v: number }>`select v from idle_probe where id = 1`.execute(other.db)).rows[0]!.v, 2);
      // The pool made a new session for the next borrower.
      assert.equal((await sql<{ one: number }>`select 1 as one`.execute(stopped.db)).rows[0]!.one, 1);
    } finally {
      await stopped.db.destroy();
      await other.db.destroy();
      await dropDatabase(url);
    }
  });

  it('a bug stays a bug', () => {
    assert.equal(dependencyFault(new TypeError("Cannot read properties of undefined (reading 'id')")), null);
    assert.equal(dependencyFault(null), null);
    assert.equal(dependencyFault('ECONNREFUSED'), null);
  });
});

/**
 * A loopback TCP proxy in front of the shared PostgreSQL whose `freeze()` holds everything the
 * server sends (a SIGSTOPped server or a partition, as the client sees it) until `thaw()`. The
 * shared server itself is never disturbed.
 */
class FreezingProxy {
  private frozen = false;
  private readonly held: { to: net.Socket; data: Buffer }[] = [];
  private readonly sockets = new Set<net.Socket>();
  private constructor(private readonly server: net.Server) {}

  static async start(target: URL): Promise<FreezingProxy> {
    let self: FreezingProxy | null = null;
    const server = net.createServer((client) => {
      const upstream = net.connect(Number(target.port || 5432), target.hostname);
      self!.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.on('data', (d: Buffer) => upstream.write(d));
      upstream.on('data', (d: Buffer) => (self!.frozen ? self!.held.push({ to: client, data: d }) : client.write(d)));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    self = new FreezingProxy(server);
    return self;
  }

  url(target: string): string {
    const u = new URL(target);
    u.hostname = '127.0.0.1';
    u.port = String((this.server.address() as net.AddressInfo).port);
    return u.toString();
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const h of this.held.splice(0)) if (!h.to.destroyed) h.to.write(h.data);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
