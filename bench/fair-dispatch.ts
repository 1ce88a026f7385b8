/**
 * The fair-dispatch rows of `npm run bench` (issue 18), for ONE mode, on the queue itself: the
 * SqlQueue (src/queue/sql-queue.ts) on a fresh store of the mode (a SQLite file, or a PostgreSQL
 * database), claimed by simulated worker slots in this process through the same `claim` the
 * workers call. A "job" holds its slot for a fixed service time (a provider call), so the rows
 * measure the order the dispatcher gives, not image rendering. Also used by bench/fair-options.ts.
 *
 *   wait      a light account's p95 wait behind a heavy account's 500-job backlog (fair), with the
 *             FIFO order (EASEL_DISPATCH=fifo) measured beside it as the anchor
 *   jain      Jain's fairness index of 4 equally weighted backlogged accounts (fair; FIFO beside it)
 *   claim     the cost of one claim with 100 000 pending across 1 000 accounts, against 100 pending
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDatabase, dropDatabase } from '../test/helpers/server.js';
import { openSqlite, migrate, type Db } from '../src/store/db.js';
import { openPostgres } from '../src/store/postgres.js';
import { SqlQueue } from '../src/queue/sql-queue.js';
import type { QueueTask } from '../src/queue/port.js';
import { newId } from '../src/util/ids.js';
import { sql } from 'kysely';

export interface QueueStore {
  db: Db;
  queue: SqlQueue;
  /** PostgreSQL only: the database's URL (pg-boss in bench/fair-options.ts installs beside it). */
  url: string | null;
  close(): Promise<void>;
}

/**
 * A fresh, migrated store of `mode` with a SqlQueue on it. SQLite runs with `synchronous`
 * as given (the suite's production FULL, or NORMAL where a row measures queries, not the disk flush).
 */
export async function openQueueStore(
  mode: 'embedded' | 'scaleout',
  o: { dispatch: 'fair' | 'fifo'; maxRunning: number; synchronous?: 'FULL' | 'NORMAL'; poolSize?: number },
): Promise<QueueStore> {
  const opts = { maxRunning: o.maxRunning, maxAttempts: 5, agingMs: 300_000, dispatch: o.dispatch };
  if (mode === 'embedded') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-fair-'));
    const prev = process.env.EASEL_SQLITE_SYNCHRONOUS;
    process.env.EASEL_SQLITE_SYNCHRONOUS = o.synchronous ?? 'FULL';
    const db = openSqlite(path.join(dir, 'q.sqlite'));
    if (prev === undefined) delete process.env.EASEL_SQLITE_SYNCHRONOUS;
    else process.env.EASEL_SQLITE_SYNCHRONOUS = prev;
    await migrate(db);
    return {
      db,
      queue: new SqlQueue(db, { ...opts, dialect: 'sqlite' }),
      url: null,
      close: async () => {
        await db.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = await createDatabase();
  const { db } = openPostgres(url, o.poolSize ?? 6);
  await migrate(db);
  return {
    db,
    queue: new SqlQueue(db, { ...opts, dialect: 'postgres' }),
    url,
    close: async () => {
      await db.destroy();
      await dropDatabase(url);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function enqueue(s: QueueStore, accountId: string, createdAt = Date.now()): Promise<string> {
  const jobId = newId();
  await s.db.transaction().execute((trx) => s.queue.enqueue(trx, { jobId, accountId, priority: 'normal', createdAt, cost: 1 }));
  return jobId;
}

/**
 * `perAccount` tasks for each of `accounts` accounts (ids `${prefix}0…`), through SqlQueue.enqueue,
 * round-robin over the accounts (so their ages interleave), `batch` per transaction, `parallel`
 * transactions at once (PostgreSQL; SQLite has one writer).
 */
export async function seedTasks(s: QueueStore, o: { accounts: number; perAccount: number; prefix: string; batch?: number; parallel?: number }): Promise<number> {
  const t0 = performance.now();
  const batch = o.batch ?? 1000;
  const total = o.accounts * o.perAccount;
  const lanes = s.url ? (o.parallel ?? 4) : 1;
  let next = 0;
  const base = Date.now() - total;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (;;) {
        const from = next;
        if (from >= total) return;
        next = Math.min(total, from + batch);
        const to = next;
        await s.db.transaction().execute(async (trx) => {
          for (let i = from; i < to; i++) {
            await s.queue.enqueue(trx, { jobId: newId(), accountId: `${o.prefix}${i % o.accounts}`, priority: 'normal', createdAt: base + i, cost: 1 });
          }
        });
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

/** Nearest-rank percentile of `xs` (p in 0…1). */
export function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(p * s.length) - 1)] ?? NaN;
}
export const median = (xs: number[]) => percentile(xs, 0.5);

interface SlotRun {
  /** Claim → complete of every finished job, ms. */
  service: number[];
  stop(): Promise<void>;
}

/**
 * `slots` simulated worker slots: claim (in fair or FIFO order, as the queue is configured), hold
 * the slot for `serviceMs()` ms, complete; `onClaim` sees each task as it is claimed and
 * `onDone` after its completion commits.
 */
function runSlots(s: QueueStore, o: { slots: number; serviceMs: () => number; onClaim?: (t: QueueTask) => void; onDone?: (t: QueueTask) => Promise<void> }): SlotRun {
  let stopping = false;
  const service: number[] = [];
  const loops = Array.from({ length: o.slots }, async (_, i) => {
    while (!stopping) {
      const t = await s.queue.claim(`bench-${i}`, 600_000);
      if (!t) {
        await sleep(2);
        continue;
      }
      const t0 = performance.now();
      o.onClaim?.(t);
      await sleep(o.serviceMs());
      await s.db.transaction().execute((trx) => s.queue.complete(trx, t.jobId));
      service.push(performance.now() - t0);
      await o.onDone?.(t);
    }
  });
  return {
    service,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

export interface WaitResult {
  dispatch: 'fair' | 'fifo';
  /** Light jobs' waits, enqueue → claim, ms. */
  waits: number[];
  p95: number;
  /** Median claim → complete of the jobs that ran, ms: one job's service time. */
  serviceMs: number;
  backlog: number;
}

/**
 * A heavy account keeps `backlog` jobs waiting (it submits one more each time one of its jobs
 * completes); a light account submits `lightJobs` jobs, one every `gapMs`; `slots` slots serve
 * both. Returns the light jobs' waits.
 */
export async function lightWait(mode: 'embedded' | 'scaleout', o: { dispatch: 'fair' | 'fifo'; backlog: number; lightJobs: number; gapMs: number; serviceMs: number; slots: number }): Promise<WaitResult> {
  // The running limit equals the slots (EASEL_MAX_CONCURRENT_JOBS ≥ the workers): it does not decide alone.
  const s = await openQueueStore(mode, { dispatch: o.dispatch, maxRunning: o.slots, synchronous: 'NORMAL' });
  try {
    await seedTasks(s, { accounts: 1, perAccount: o.backlog, prefix: 'heavy-' });
    const submitted = new Map<string, number>();
    const waits: number[] = [];
    const run = runSlots(s, {
      slots: o.slots,
      serviceMs: () => o.serviceMs,
      onClaim: (t) => {
        const at = submitted.get(t.jobId);
        if (at !== undefined) waits.push(performance.now() - at);
      },
      onDone: async (t) => {
        if (t.accountId === 'heavy-0') await enqueue(s, 'heavy-0');
      },
    });
    try {
      for (let i = 0; i < o.lightJobs; i++) {
        await sleep(o.gapMs * (0.5 + Math.random()));
        const t0 = performance.now();
        submitted.set(await enqueue(s, 'light'), t0);
      }
      const deadline = Date.now() + 600_000;
      while (waits.length < o.lightJobs) {
        if (Date.now() > deadline) throw new Error(`only ${waits.length} of ${o.lightJobs} light jobs started`);
        await sleep(20);
      }
    } finally {
      await run.stop();
    }
    return { dispatch: o.dispatch, waits, p95: percentile(waits, 0.95), serviceMs: median(run.service), backlog: o.backlog };
  } finally {
    await s.close();
  }
}

export interface JainResult {
  dispatch: 'fair' | 'fifo';
  /** Jobs started per account in the window. */
  counts: number[];
  index: number;
}

/** Jain's index (Σx)² ÷ (n Σx²): 1 when all get the same, 1/n when one gets everything. */
export const jain = (xs: number[]) => xs.reduce((a, b) => a + b, 0) ** 2 / (xs.length * xs.reduce((a, b) => a + b * b, 0));

/**
 * `accounts` equally weighted accounts, each with a backlog of `perAccount` submitted one account
 * after another (as bursts arrive); `slots` slots with service times jittered ±50 % around
 * `serviceMs`; the first `window` starts (every account still backlogged) are counted per account.
 */
export async function jainIndex(mode: 'embedded' | 'scaleout', o: { dispatch: 'fair' | 'fifo'; accounts: number; perAccount: number; window: number; serviceMs: number; slots: number }): Promise<JainResult> {
  const s = await openQueueStore(mode, { dispatch: o.dispatch, maxRunning: o.slots, synchronous: 'NORMAL' });
  try {
    for (let a = 0; a < o.accounts; a++) await seedTasks(s, { accounts: 1, perAccount: o.perAccount, prefix: `acct-${a}-` });
    const counts = new Map<string, number>();
    let started = 0;
    const run = runSlots(s, {
      slots: o.slots,
      serviceMs: () => o.serviceMs * (0.5 + Math.random()),
      onClaim: (t) => {
        if (started++ < o.window) counts.set(t.accountId, (counts.get(t.accountId) ?? 0) + 1);
      },
    });
    try {
      const deadline = Date.now() + 600_000;
      while (started < o.window) {
        if (Date.now() > deadline) throw new Error(`only ${started} of ${o.window} jobs started`);
        await sleep(20);
      }
    } finally {
      await run.stop();
    }
    const xs = Array.from({ length: o.accounts }, (_, a) => counts.get(`acct-${a}-0`) ?? 0);
    return { dispatch: o.dispatch, counts: xs, index: jain(xs) };
  } finally {
    await s.close();
  }
}

export interface ClaimCost {
  pending: number;
  accounts: number;
  /** Claim times, ms. */
  claims: number[];
  medianMs: number;
  seedSeconds: number;
}

/**
 * A store holding `pending` tasks spread evenly over `accounts` accounts; `measure(n)` times `n`
 * claims (each completed and replaced by a new task of the same account outside the timing, so the
 * store keeps its size).
 */
export async function claimBench(mode: 'embedded' | 'scaleout', o: { pending: number; accounts: number }) {
  // The running limit never binds here; SQLite NORMAL: the row compares queries, not the disk's flush (the same for both).
  const s = await openQueueStore(mode, { dispatch: 'fair', maxRunning: 1000, synchronous: 'NORMAL', poolSize: 8 });
  const seedSeconds = await seedTasks(s, { accounts: o.accounts, perAccount: Math.max(1, Math.round(o.pending / o.accounts)), prefix: 'a-' });
  // PostgreSQL's autovacuum would analyze a table after this many inserts; done at once here.
  if (s.url) await sql`analyze`.execute(s.db);
  const claims: number[] = [];
  return {
    store: s,
    seedSeconds,
    claims,
    async measure(n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        const t = await s.queue.claim('bench', 600_000);
        claims.push(performance.now() - t0);
        if (!t) throw new Error('claim returned nothing');
        await s.db.transaction().execute(async (trx) => {
          await s.queue.complete(trx, t.jobId);
          await s.queue.enqueue(trx, { jobId: newId(), accountId: t.accountId, priority: 'normal', createdAt: Date.now(), cost: 1 });
        });
      }
    },
    result(): ClaimCost {
      return { pending: o.pending, accounts: o.accounts, claims, medianMs: median(claims), seedSeconds };
    },
    close: () => s.close(),
  };
}

/** Two stores, claims measured in alternating rounds (A B, B A, …) so background load falls on both alike. */
export async function claimCosts(mode: 'embedded' | 'scaleout', o: { small: { pending: number; accounts: number }; large: { pending: number; accounts: number }; claims: number; rounds: number }): Promise<{ small: ClaimCost; large: ClaimCost }> {
  const small = await claimBench(mode, o.small);
  try {
    const large = await claimBench(mode, o.large);
    try {
      // Warm-up (caches, prepared plans), not counted.
      await small.measure(20);
      await large.measure(20);
      small.claims.length = 0;
      large.claims.length = 0;
      const per = Math.ceil(o.claims / o.rounds);
      for (let r = 0; r < o.rounds; r++) {
        const pair = r % 2 === 0 ? [small, large] : [large, small];
        for (const b of pair) await b.measure(per);
      }
      return { small: small.result(), large: large.result() };
    } finally {
      await large.close();
    }
  } finally {
    await small.close();
  }
}
