import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../src/store/db.js';
import type { JobQueue } from '../../src/queue/port.js';
import type { Fence } from '../../src/jobs/transitions/context.js';
import { openSqlite, migrate } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { SqlQueue, type SqlQueueOptions } from '../../src/queue/sql-queue.js';
import { PgWakeup } from '../../src/queue/pg-wakeup.js';
import { JobService } from '../../src/jobs/service.js';
import { createKey } from '../../src/accounts/accounts.js';
import { MODE, createDatabase, dropDatabase } from './server.js';

/**
 * The job core in this process, no server: the mode's real store (a SQLite file, or a fresh
 * PostgreSQL database) and its real queue (src/queue/sql-queue.ts on that store), with the JobService on
 * top. Stale writes are collected instead of logged.
 */
export interface Core {
  db: Db;
  queue: JobQueue;
  jobs: JobService;
  stale: { transition: string; fence: Fence }[];
  leaseMs: number;
  /** Where the store is: its SQLite file, or its PostgreSQL URL (for readers of the raw store). */
  location: { sqliteFile: string | null; databaseUrl: string | null };
  /** A new account holding `eur` in credits; returns its id. */
  account(name: string, eur?: number): Promise<string>;
  /** A pending job of `holdMicros`, committed with its task. */
  submit(accountId: string, holdMicros: number, operation?: string): Promise<string>;
  /** Claims until the task of `jobId` comes up (other tasks are left to their leases). */
  claimJob(jobId: string, owner?: string): Promise<{ jobId: string; token: string; attempts: number }>;
  /** Closes the store's connections and opens them again (a restart): db, queue and jobs are replaced. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export interface CoreOptions {
  leaseMs?: number;
  /** The queue's scheduling settings (defaults: a high running limit, 5 attempts, 300 s aging, fair). */
  queue?: Partial<Omit<SqlQueueOptions, 'dialect' | 'notify'>>;
  maxQueuedJobs?: number;
}

export async function openCore(opts: CoreOptions = {}): Promise<Core> {
  const leaseMs = opts.leaseMs ?? (MODE === 'scaleout' ? 1000 : 300);
  const queueDefaults = { maxRunning: 1000, maxAttempts: 5, agingMs: 300_000, dispatch: 'fair' as const };
  const stale: Core['stale'] = [];
  // The store's address survives a reopen: a PostgreSQL database or a SQLite file of this core's own.
  const url = MODE === 'scaleout' ? await createDatabase() : null;
  const dir = url ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'easel-core-'));
  const open = async () => {
    const db = url ? openPostgres(url, 4).db : openSqlite(path.join(dir!, 'easel.sqlite'));
    await migrate(db);
    const queue: JobQueue = url
      ? new SqlQueue(db, { ...queueDefaults, ...opts.queue, dialect: 'postgres', notify: PgWakeup.notify })
      : new SqlQueue(db, { ...queueDefaults, ...opts.queue, dialect: 'sqlite' });
    const jobs = new JobService(db, queue, { maxQueuedJobs: opts.maxQueuedJobs ?? 100_000, retentionS: 86_400, onStale: (transition, fence) => stale.push({ transition, fence }) });
    return { db, queue, jobs };
  };
  const core: Core = {
    ...(await open()),
    stale,
    leaseMs,
    location: { sqliteFile: dir ? path.join(dir, 'easel.sqlite') : null, databaseUrl: url },
    async account(name, eur = 1) {
      return (await createKey(core.db, { name, creditsMicros: Math.round(eur * 1e6) })).accountId;
    },
    async submit(accountId, holdMicros, operation = 'image') {
      const job = await core.jobs.submit({ accountId, keyId: null, operation, model: 'easel-sketch', request: { prompt: 'core test' }, holdMicros, scenesTotal: 1 });
      return job.id;
    },
    async claimJob(jobId, owner = 'test') {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const t = await core.queue.claim(owner, leaseMs);
        if (t && t.jobId === jobId) return t;
        if (Date.now() > deadline) throw new Error(`job ${jobId} was never claimable`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async reopen() {
      await core.db.destroy();
      Object.assign(core, await open());
    },
    async close() {
      await core.db.destroy();
      if (url) await dropDatabase(url);
      else fs.rmSync(dir!, { recursive: true, force: true });
    },
  };
  return core;
}

/** The account's balance and the ledger's own sums, read from the store. */
export async function money(db: Db, accountId: string) {
  const acc = await db.selectFrom('accounts').select(['available_micros', 'held_micros']).where('id', '=', accountId).executeTakeFirstOrThrow();
  const rows = await db.selectFrom('ledger').select(['kind', 'delta_available', 'delta_held', 'job_id']).where('account_id', '=', accountId).execute();
  const sum = (k: 'delta_available' | 'delta_held') => rows.reduce((a, r) => a + Number(r[k]), 0);
  return { available: Number(acc.available_micros), held: Number(acc.held_micros), ledgerAvailable: sum('delta_available'), ledgerHeld: sum('delta_held'), rows: rows.length };
}
