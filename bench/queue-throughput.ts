/**
 * Submit→completed throughput of image jobs over HTTP (zero simulated latency), divided by the
 * raw queue engine's own enqueue+claim+complete rate measured in the same run, for each mode.
 * Loopback only; each phase is bounded in time (BENCH_SECONDS, default 10).
 *   npm run bench:queue   (both modes; one process per mode, since the test harness reads EASEL_TEST_MODE once)
 * `npm run bench` (bench/run.ts) reuses these functions for its "job throughput" row.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EaselProcess, MODE, api, dropDatabase } from '../test/helpers/server.js';
import { openSqlite, migrate } from '../src/store/db.js';
import { openPostgres } from '../src/store/postgres.js';
import { SqlQueue } from '../src/queue/sql-queue.js';
import type { JobQueue } from '../src/queue/port.js';
import type { Db } from '../src/store/db.js';
import { newId } from '../src/util/ids.js';
import { renderSketch } from '../src/providers/sketch/render.js';
import { storeImage } from '../src/pipelines/store-image.js';
import { defaultSeed } from '../src/pipelines/image.js';
import type { BlobStore } from '../src/blob/port.js';
import { pino } from 'pino';

/** Concurrent HTTP clients submitting jobs (the server runs EASEL_WORKER_CONCURRENCY=4 slots). */
export const SUBMITTERS = 8;
export const WORKER_SLOTS = 4;

export interface Rate {
  /** Operations per second. */
  rate: number;
  ops: number;
  seconds: number;
}

const rateOf = (ops: number, t0: number): Rate => {
  const seconds = (performance.now() - t0) / 1000;
  return { rate: ops / seconds, ops, seconds };
};

/** The queue engine alone: enqueue (own transaction), claim, complete (own transaction), one at a time, until `seconds` pass. */
export async function rawRate(db: Db, queue: JobQueue, seconds: number): Promise<Rate> {
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  let ops = 0;
  while (performance.now() < deadline || ops === 0) {
    const id = newId();
    await db.transaction().execute((trx) => queue.enqueue(trx, { jobId: id, accountId: 'bench', priority: 'normal', createdAt: Date.now(), cost: 1 }));
    const task = await queue.claim('bench', 30_000);
    if (!task) throw new Error('claim returned nothing');
    await db.transaction().execute((trx) => queue.complete(trx, task.jobId));
    ops++;
  }
  return rateOf(ops, t0);
}

/**
 * SQLite durability for both the server under test and the raw engine: the production default
 * (FULL, survives power loss) unless BENCH_SQLITE_SYNCHRONOUS=NORMAL (what the test suite uses).
 */
export const SQLITE_SYNCHRONOUS = process.env.BENCH_SQLITE_SYNCHRONOUS === 'NORMAL' ? 'NORMAL' : 'FULL';

export interface RawEngine {
  run(seconds: number): Promise<Rate>;
  close(): Promise<void>;
}

/** The raw engine of `mode` on a fresh, migrated database of its own (dropped by close()). */
export async function openRawEngine(mode: 'embedded' | 'scaleout'): Promise<RawEngine> {
  if (mode === 'embedded') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-'));
    // openSqlite reads the pragma from the environment, as the server does.
    const prev = process.env.EASEL_SQLITE_SYNCHRONOUS;
    process.env.EASEL_SQLITE_SYNCHRONOUS = SQLITE_SYNCHRONOUS;
    const db = openSqlite(path.join(dir, 'q.sqlite'));
    if (prev === undefined) delete process.env.EASEL_SQLITE_SYNCHRONOUS;
    else process.env.EASEL_SQLITE_SYNCHRONOUS = prev;
    await migrate(db);
    const queue = new SqlQueue(db, { dialect: 'sqlite', maxRunning: 1000, maxAttempts: 3, agingMs: 300_000, dispatch: 'fair' });
    return {
      run: (seconds) => rawRate(db, queue, seconds),
      close: async () => {
        await db.destroy();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  // A server run once creates and migrates a database of its own; the engine is then driven directly.
  const helper = await EaselProcess.start({ args: ['--no-worker'] });
  await helper.kill('SIGTERM');
  const { db } = openPostgres(helper.databaseUrl!, 4);
  const q = new SqlQueue(db, { dialect: 'postgres', maxRunning: 1000, maxAttempts: 3, agingMs: 300_000, dispatch: 'fair' });
  return {
    run: (seconds) => rawRate(db, q, seconds),
    close: async () => {
      await db.destroy();
      await dropDatabase(helper.databaseUrl!);
    },
  };
}

export async function rawQueueRate(mode: 'embedded' | 'scaleout', seconds: number): Promise<Rate> {
  const engine = await openRawEngine(mode);
  try {
    return await engine.run(seconds);
  } finally {
    await engine.close();
  }
}

/** Several rounds of one measurement as one rate. */
export function sumRates(rs: Rate[]): Rate {
  const ops = rs.reduce((a, r) => a + r.ops, 0);
  const seconds = rs.reduce((a, r) => a + r.seconds, 0);
  return { rate: ops / seconds, ops, seconds };
}

/** `SUBMITTERS` clients each submit synchronous image jobs back to back until `seconds` pass; counts completed jobs. */
export async function httpRate(srv: EaselProcess, key: string, seconds: number): Promise<Rate> {
  let ops = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: SUBMITTERS }, async () => {
      while (performance.now() < deadline || started === 0) {
        const i = started++;
        const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `bench ${i} ${newId()}` } });
        if (r.status !== 200) throw new Error(`job ${i}: ${r.status} ${r.text}`);
        ops++;
      }
    }),
  );
  return rateOf(ops, t0);
}

/** A blob store that keeps nothing: the pipeline anchor measures encoding, not storage. */
const nullBlob: BlobStore = {
  put: async () => undefined,
  putFile: async () => undefined,
  get: async () => null,
  exists: async () => false,
  delete: async () => undefined,
  deletePrefix: async () => undefined,
  deleteMany: async () => undefined,
  deletePrefixes: async () => undefined,
  signedUrl: async (key) => key,
  health: async () => ({ ok: true }),
};

/**
 * Installs C2PA signing in this process as `easel serve` does at start-up (when this build signs
 * outputs), so the pipeline anchor does the same per-image work as the server's workers.
 */
let imagingInstalled: Promise<void> | null = null;
function installServerImaging(): Promise<void> {
  imagingInstalled ??= installImaging();
  return imagingInstalled;
}
async function installImaging(): Promise<void> {
  const signing = (await import('../src/imaging/signing.js').catch(() => null)) as null | {
    installC2paSigning?: (dataDir: string, env: { cert: null; key: null }) => unknown;
  };
  signing?.installC2paSigning?.(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-c2pa-')), { cert: null, key: null });
}

/**
 * The work every image job must do whatever the queue: render the 1024×1024 sketch, then what
 * the image pipeline's storeImage does (decode, encode png + jpeg + webp with provenance), with
 * the workers' concurrency, in this process, without HTTP, database, queue or storage writes.
 * It bounds the HTTP rate from above.
 */
export async function pipelineRate(seconds: number, slots = WORKER_SLOTS): Promise<Rate> {
  await installServerImaging();
  let ops = 0;
  let started = 0;
  const t0 = performance.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: slots }, async () => {
      while (performance.now() < deadline || started === 0) {
        const i = started++;
        const prompt = `bench ${i} ${newId()}`;
        const raw = await renderSketch({ prompt, seed: defaultSeed(prompt), width: 1024, height: 1024 });
        await storeImage(nullBlob, `jobs/${newId()}/image`, raw, { model: 'easel-sketch', action: 'created' });
        ops++;
      }
    }),
  );
  return rateOf(ops, t0);
}

export async function measure(mode: 'embedded' | 'scaleout', seconds: number): Promise<{ mode: string; http: Rate; raw: Rate; ratio: number }> {
  const srv = await EaselProcess.start({ env: { EASEL_MAX_CONCURRENT_JOBS: '1000', EASEL_WORKER_CONCURRENCY: String(WORKER_SLOTS), EASEL_SQLITE_SYNCHRONOUS: SQLITE_SYNCHRONOUS, EASEL_RATE_LIMIT_PER_MIN: '10000000' } });
  try {
    const raw = await rawQueueRate(mode, seconds);
    const key = await srv.createKey('bench', '100000');
    const http = await httpRate(srv, key, seconds);
    return { mode, http, raw, ratio: http.rate / raw.rate };
  } finally {
    await srv.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const r = await measure(MODE, seconds);
  console.log(
    `${r.mode}: submit→completed ${r.http.rate.toFixed(1)} jobs/s; raw queue enqueue+claim+complete ${r.raw.rate.toFixed(1)} ops/s; ratio ${r.ratio.toFixed(3)}`,
  );
}
