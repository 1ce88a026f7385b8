/**
 * Submit→completed throughput of image jobs over HTTP (zero simulated latency), divided by the
 * raw queue engine's own enqueue+claim+complete rate measured in the same run, for each mode.
 * Loopback only; bounded by BENCH_JOBS (default 60).
 *   npm run bench:queue   (both modes; one process per mode, since the test harness reads EASEL_TEST_MODE once)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, MODE, api, dropDatabase } from '../test/helpers/server.js';
import { openSqlite, migrate } from '../src/store/db.js';
import { openPostgres } from '../src/store/postgres.js';
import { EmbeddedQueue } from '../src/queue/embedded.js';
import { PgBossQueue } from '../src/queue/pgboss.js';
import type { JobQueue } from '../src/queue/port.js';
import type { Db } from '../src/store/db.js';
import { newId } from '../src/util/ids.js';
import { pino } from 'pino';

const JOBS = Number(process.env.BENCH_JOBS ?? 60);
const CONCURRENCY = 8;
const RAW_OPS = Number(process.env.BENCH_RAW_OPS ?? 500);

async function rawRate(db: Db, queue: JobQueue): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < RAW_OPS; i++) {
    const id = newId();
    await db.transaction().execute((trx) => queue.enqueue(trx, id));
    const task = await queue.claim('bench', 30_000);
    if (!task) throw new Error('claim returned nothing');
    await db.transaction().execute((trx) => queue.complete(trx, task.jobId));
  }
  return RAW_OPS / ((performance.now() - t0) / 1000);
}

async function httpRate(srv: EaselProcess): Promise<number> {
  const key = await srv.createKey('bench', '1000');
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < JOBS) {
        const i = next++;
        const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `bench ${i}` } });
        if (r.status !== 200) throw new Error(`job ${i}: ${r.status} ${r.text}`);
      }
    }),
  );
  return JOBS / ((performance.now() - t0) / 1000);
}

export async function measure(mode: 'embedded' | 'scaleout'): Promise<{ mode: string; http: number; raw: number; ratio: number }> {
  const srv = await EaselProcess.start({ env: { EASEL_MAX_CONCURRENT_JOBS: '1000', EASEL_WORKER_CONCURRENCY: '4' } });
  let raw: number;
  try {
    if (mode === 'embedded') {
      const db = openSqlite(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-')), 'q.sqlite'));
      await migrate(db);
      raw = await rawRate(db, new EmbeddedQueue(db));
      await db.destroy();
    } else {
      const helper = await EaselProcess.start({ args: ['--no-worker'] });
      await helper.kill('SIGTERM');
      const { db } = openPostgres(helper.databaseUrl!, 4);
      const q = await PgBossQueue.start({ url: helper.databaseUrl!, leaseMs: 30_000, maxAttempts: 3, retryBaseMs: 500, poolSize: 4 }, pino({ level: 'warn' }), false);
      raw = await rawRate(db, q);
      await q.stop();
      await db.destroy();
      await dropDatabase(helper.databaseUrl!);
    }
    const http = await httpRate(srv);
    return { mode, http, raw, ratio: http / raw };
  } finally {
    await srv.stop();
  }
}

{
  const r = await measure(MODE);
  console.log(`${r.mode}: submit→completed ${r.http.toFixed(1)} jobs/s; raw queue enqueue+claim+complete ${r.raw.toFixed(1)} ops/s; ratio ${r.ratio.toFixed(3)}`);
}
