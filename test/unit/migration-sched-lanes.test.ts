import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Migrator, sql, type Kysely } from 'kysely';
import { MODE, createDatabase, dropDatabase } from '../helpers/server.js';
import { openSqlite, type Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { migrationProvider } from '../../src/store/migrations.js';
import { SqlQueue } from '../../src/queue/sql-queue.js';

/**
 * Migration 0014 on a database whose schedule still keys the free lane as `process/<account id>`:
 * those rows move to lane `process` under the bare id with their pass and counters, the paid rows stay
 * in lane `default`, and the queue goes on with both (the free task is claimed from the free lane, a
 * new paid task joins the account's existing paid row).
 */
describe(`migration 0014: schedule rows get a lane column (${MODE === 'scaleout' ? 'PostgreSQL' : 'SQLite'})`, () => {
  let db: Db;
  let pgUrl: string | null = null;
  after(async () => {
    await db?.destroy();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  it("moves a 'process/<id>' row to lane 'process' with the bare id, and the queue uses it", async () => {
    if (MODE === 'embedded') db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-mig14-')), 'easel.sqlite'));
    else db = openPostgres((pgUrl = await createDatabase()), 2).db;
    const migrator = new Migrator({ db: db as Kysely<unknown>, provider: migrationProvider });
    assert.equal((await migrator.migrateTo('0013_key_scopes')).error, undefined);
    const now = Date.now();
    await sql`insert into accounts (id, name, email, status, strictness, available_micros, held_micros, created_at) values ('a1', 'acct-a1', null, 'active', 'normal', 0, 0, 1)`.execute(db);
    const free = '01a00000-0000-7000-8000-0000000000f1';
    await sql`insert into jobs (id, account_id, key_id, operation, status, model, request_json, scenes_total, scenes_completed, hold_micros, charged_micros, refunded_micros, attempts, created_at, updated_at)
              values (${free}, 'a1', null, 'process_resize', 'pending', null, '{}', 1, 0, 0, 0, 0, 0, ${now}, ${now})`.execute(db);
    await sql`insert into queue_tasks (job_id, queue, run_at, attempts, lease_owner, lease_expires_at, last_error, created_at, account_id, sort_key, cost)
              values (${free}, 'process', ${now}, 0, null, null, null, ${now}, 'a1', ${now}, 1)`.execute(db);
    // The schedule as the prefix-keyed version wrote it: a paid row (idle, pass 7) and a free row (one task waiting).
    await sql`insert into sched_accounts (account_id, pass, tasks, queued) values ('a1', 7, 0, 0), ('process/a1', 3, 1, 1)`.execute(db);

    const latest = await migrator.migrateToLatest();
    assert.equal(latest.error, undefined);
    assert.ok(latest.results?.some((r) => r.migrationName === '0014_sched_lanes' && r.status === 'Success'));
    const rows = await db.selectFrom('sched_accounts').select(['lane', 'account_id', 'pass', 'tasks', 'queued']).orderBy('lane').orderBy('account_id').execute();
    assert.deepEqual(
      rows.map((r) => [r.lane, r.account_id, Number(r.pass), Number(r.tasks), Number(r.queued)]),
      [
        ['default', 'a1', 7, 0, 0],
        ['process', 'a1', 3, 1, 1],
      ],
    );

    // The active-rows index now leads with the lane, so each lane's walk in pass order is one index range.
    const indexSql =
      MODE === 'embedded'
        ? (await sql<{ d: string }>`select sql as d from sqlite_master where type = 'index' and name = 'sched_accounts_active'`.execute(db)).rows[0]?.d
        : (await sql<{ d: string }>`select indexdef as d from pg_indexes where indexname = 'sched_accounts_active'`.execute(db)).rows[0]?.d;
    assert.match(indexSql ?? '', /\(\s*"?lane"?\s*,\s*"?pass"?\s*,\s*"?account_id"?\s*\)\s*WHERE\s*\(?\s*"?tasks"?\s*>\s*0/i);

    const queue = new SqlQueue(db, { dialect: MODE === 'embedded' ? 'sqlite' : 'postgres', maxRunning: 10, maxAttempts: 5, agingMs: 300_000, dispatch: 'fair' });
    assert.equal(await queue.claim('test', 60_000, 'default'), null, 'no paid work: the free task is not in the paid lane');
    assert.equal((await queue.claim('test', 60_000, 'process'))?.jobId, free, 'the free task is claimed from the free lane');
    const paid = '01a00000-0000-7000-8000-0000000000a1';
    await sql`insert into jobs (id, account_id, key_id, operation, status, model, request_json, scenes_total, scenes_completed, hold_micros, charged_micros, refunded_micros, attempts, created_at, updated_at)
              values (${paid}, 'a1', null, 'image', 'pending', 'easel-sketch', '{}', 1, 0, 0, 0, 0, 0, ${now}, ${now})`.execute(db);
    await db.transaction().execute((trx) => queue.enqueue(trx, { jobId: paid, accountId: 'a1', createdAt: now, priority: 'normal', cost: 1 }));
    const after14 = await db.selectFrom('sched_accounts').select(['lane', 'account_id', 'tasks']).orderBy('lane').execute();
    assert.deepEqual(after14.map((r) => [r.lane, r.account_id, Number(r.tasks)]), [['default', 'a1', 1], ['process', 'a1', 1]], 'the paid task joins the existing paid row');
  });
});
