import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { Db } from '../../src/store/db.js';
import type { JobQueue } from '../../src/queue/port.js';
import type { Fence } from '../../src/jobs/transitions/context.js';
import { openSqlite, migrate } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { EmbeddedQueue } from '../../src/queue/embedded.js';
import { PgBossQueue } from '../../src/queue/pgboss.js';
import { JobService } from '../../src/jobs/service.js';
import { createKey } from '../../src/accounts/accounts.js';
import { MODE, createDatabase, dropDatabase } from './server.js';

/**
 * The job core in this process, no server: the mode's real store (a SQLite file, or a fresh
 * PostgreSQL database) and its real queue adapter (embedded, or pg-boss), with the JobService on
 * top. Stale writes are collected instead of logged.
 */
export interface Core {
  db: Db;
  queue: JobQueue;
  jobs: JobService;
  stale: { transition: string; fence: Fence }[];
  leaseMs: number;
  /** A new account holding `eur` in credits; returns its id. */
  account(name: string, eur?: number): Promise<string>;
  /** A pending job of `holdMicros`, committed with its task. */
  submit(accountId: string, holdMicros: number, operation?: string): Promise<string>;
  /** Claims until the task of `jobId` comes up (other tasks are left to their leases). */
  claimJob(jobId: string, owner?: string): Promise<{ jobId: string; token: string; attempts: number }>;
  close(): Promise<void>;
}

export async function openCore(opts: { leaseMs?: number } = {}): Promise<Core> {
  const leaseMs = opts.leaseMs ?? (MODE === 'scaleout' ? 1000 : 300);
  const log = pino({ level: 'silent' });
  let db: Db;
  let queue: JobQueue;
  let cleanup: () => Promise<void>;
  if (MODE === 'scaleout') {
    const url = await createDatabase();
    db = openPostgres(url, 4).db;
    await migrate(db);
    queue = await PgBossQueue.start({ url, leaseMs, maxAttempts: 5, retryBaseMs: 500, poolSize: 4 }, log, false);
    cleanup = async () => {
      await queue.stop?.();
      await db.destroy();
      await dropDatabase(url);
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-core-'));
    db = openSqlite(path.join(dir, 'easel.sqlite'));
    await migrate(db);
    queue = new EmbeddedQueue(db);
    cleanup = async () => {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const stale: Core['stale'] = [];
  const jobs = new JobService(db, queue, { maxConcurrentJobs: 1000, retentionS: 86_400, onStale: (transition, fence) => stale.push({ transition, fence }) });
  return {
    db,
    queue,
    jobs,
    stale,
    leaseMs,
    async account(name, eur = 1) {
      return (await createKey(db, { name, creditsMicros: Math.round(eur * 1e6) })).accountId;
    },
    async submit(accountId, holdMicros, operation = 'image') {
      const job = await jobs.submit({ accountId, keyId: null, operation, model: 'easel-sketch', request: { prompt: 'core test' }, holdMicros, scenesTotal: 1 });
      return job.id;
    },
    async claimJob(jobId, owner = 'test') {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const t = await queue.claim(owner, leaseMs);
        if (t && t.jobId === jobId) return t;
        if (Date.now() > deadline) throw new Error(`job ${jobId} was never claimable`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: cleanup,
  };
}

/** The account's balance and the ledger's own sums, read from the store. */
export async function money(db: Db, accountId: string) {
  const acc = await db.selectFrom('accounts').select(['available_micros', 'held_micros']).where('id', '=', accountId).executeTakeFirstOrThrow();
  const rows = await db.selectFrom('ledger').select(['kind', 'delta_available', 'delta_held', 'job_id']).where('account_id', '=', accountId).execute();
  const sum = (k: 'delta_available' | 'delta_held') => rows.reduce((a, r) => a + Number(r[k]), 0);
  return { available: Number(acc.available_micros), held: Number(acc.held_micros), ledgerAvailable: sum('delta_available'), ledgerHeld: sum('delta_held'), rows: rows.length };
}
