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
 * Migration 0010 (fair dispatch) on a database holding queued work from the version before: in
 * SQLite the old embedded queue's rows, in PostgreSQL the tasks pg-boss 10.4.2 (the engine before)
 * holds for Easel, written by pg-boss itself. After the upgrade every unsettled job has its task,
 * with its account, and the new queue gives them all out — nothing queued is lost.
 */
describe(`migration 0010: queued work survives the move to the fair queue (${MODE})`, () => {
  let db: Db;
  let pgUrl: string | null = null;
  after(async () => {
    await db?.destroy();
    if (pgUrl) await dropDatabase(pgUrl);
  });

  it('every waiting and every interrupted job is claimable after the upgrade, in its account', async () => {
    if (MODE === 'embedded') db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-mig10-')), 'easel.sqlite'));
    else db = openPostgres((pgUrl = await createDatabase()), 2).db;
    const migrator = new Migrator({ db: db as Kysely<unknown>, provider: migrationProvider });
    assert.equal((await migrator.migrateTo('0009_job_lease_token_and_plan')).error, undefined);
    const now = Date.now();
    for (const a of ['a1', 'a2']) {
      await sql`insert into accounts (id, name, email, status, strictness, available_micros, held_micros, created_at) values (${a}, ${`acct-${a}`}, null, 'active', 'normal', 0, 0, 1)`.execute(db);
    }
    const job = (id: string, account: string, status: string, scenes = 1) =>
      sql`insert into jobs (id, account_id, key_id, operation, status, model, request_json, scenes_total, scenes_completed, hold_micros, charged_micros, refunded_micros, attempts, created_at, updated_at)
          values (${id}, ${account}, null, 'image', ${status}, 'easel-sketch', '{}', ${scenes}, 0, 0, 0, 0, 0, ${now}, ${now})`.execute(db);
    const ids = { waiting: '01a00000-0000-7000-8000-000000000001', interrupted: '01a00000-0000-7000-8000-000000000002', story: '01a00000-0000-7000-8000-000000000003' };
    await job(ids.waiting, 'a1', 'pending');
    await job(ids.interrupted, 'a1', 'processing');
    await job(ids.story, 'a2', 'pending', 4);

    if (MODE === 'embedded') {
      // The old embedded queue's rows: two waiting, one under an expired lease (its worker was stopped for the upgrade).
      const task = (id: string, owner: string | null) =>
        sql`insert into queue_tasks (job_id, queue, run_at, attempts, lease_owner, lease_expires_at, last_error, created_at) values (${id}, 'default', ${now}, ${owner ? 1 : 0}, ${owner}, ${owner ? now - 1 : null}, null, ${now})`.execute(db);
      await task(ids.waiting, null);
      await task(ids.interrupted, 'w-123');
      await task(ids.story, null);
    } else {
      // pg-boss itself writes its tasks, as the pg-boss adapter did (one queue, the job id as the task id).
      const { default: PgBoss } = await import('pg-boss');
      const boss = new PgBoss({ connectionString: pgUrl!, schedule: false, supervise: false } as ConstructorParameters<typeof PgBoss>[0]);
      await boss.start();
      await boss.createQueue('easel-jobs', { name: 'easel-jobs', policy: 'standard' } as never);
      for (const id of [ids.interrupted, ids.waiting, ids.story]) await boss.send('easel-jobs', { jobId: id }, { id, retryLimit: 4 } as never);
      const [active] = (await boss.fetch('easel-jobs', { batchSize: 1 } as never)) as unknown as { id: string }[];
      assert.equal(active?.id, ids.interrupted, 'one task is active in pg-boss when the upgrade happens');
      await boss.stop({ graceful: false, wait: true } as never);
    }

    const latest = await migrator.migrateToLatest();
    assert.equal(latest.error, undefined);
    assert.ok(latest.results?.some((r) => r.migrationName === '0010_fair_queue' && r.status === 'Success'));
    const tasks = await db.selectFrom('queue_tasks').select(['job_id', 'account_id', 'cost']).orderBy('job_id').execute();
    assert.deepEqual(
      tasks.map((t) => [t.job_id, t.account_id, Number(t.cost)]),
      [
        [ids.waiting, 'a1', 1],
        [ids.interrupted, 'a1', 1],
        [ids.story, 'a2', 4],
      ],
    );
    const sched = await db.selectFrom('sched_accounts').select(['account_id', 'tasks']).orderBy('account_id').execute();
    assert.deepEqual(sched.map((s) => [s.account_id, Number(s.tasks)]), [['a1', 2], ['a2', 1]]);

    const queue = new SqlQueue(db, { dialect: MODE === 'embedded' ? 'sqlite' : 'postgres', maxRunning: 10, maxAttempts: 5, agingMs: 300_000, dispatch: 'fair' });
    const claimed: string[] = [];
    for (let t = await queue.claim('test', 60_000); t; t = await queue.claim('test', 60_000)) claimed.push(t.jobId);
    assert.deepEqual(claimed.sort(), Object.values(ids).sort(), 'all three come out of the new queue');
  });
});
