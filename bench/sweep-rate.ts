/**
 * Retention sweep at scale (issue 25): how fast one server's own sweeper (src/jobs/retention.ts)
 * deletes the files of a backlog of expired jobs and marks them, and what it does to submit
 * latency meanwhile, in each mode.
 *   npm run bench:sweep                    both modes, BENCH_SWEEP_RUNS (default 3) runs each, medians
 *   BENCH_SWEEP_JOBS=20000 npm run bench:sweep   backlog size for both modes (defaults: embedded 10 000, scale-out 1 000)
 *   BENCH_SWEEP_QUIET=1   no submits during the sweep (the sweep alone)
 * One run: a real `easel serve` (its sketch model held at 10 min a job, so no rendering competes
 * for the CPU); N completed jobs seeded through the store's row builder and the blob store's own
 * put (two small real files each, in the folders the image pipeline uses), expiring far in the
 * future; submit latency measured idle (sequential POST /v1/generate/image, Prefer: wait=0 → 202);
 * then every seeded job made due at once, and the server's sweeper (EASEL_RETENTION_SWEEP_MS=100)
 * drains them while submits go on. Rate = N ÷ (last job marked − the moment they became due), so
 * it includes up to one sweep interval of waiting. Afterwards the same rows are unmarked and swept
 * again in this process against a blob store that does nothing: the database side's own ceiling.
 */
import path from 'node:path';
import { mergeResults, type ResultRow } from './lib/results.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import { pino } from 'pino';
import { EaselProcess, MODE, api, dropDatabase } from '../test/helpers/server.js';
import { openServerStores, seedEndedJobs } from '../test/helpers/expired-jobs.js';
import type { BlobStore } from '../src/blob/port.js';
import { S3BlobStore } from '../src/blob/s3-store.js';
import { RetentionSweeper } from '../src/jobs/retention.js';

export interface SweepRate {
  mode: 'embedded' | 'scaleout';
  jobs: number;
  /** Seeded jobs swept per second by the server's sweeper, files included. */
  jobsPerSec: number;
  /** The same, in blob keys deleted per second (two files a job). */
  keysPerSec: number;
  sweepSeconds: number;
  /** Jobs per second of the sweep against a blob store that does nothing: the database side alone. */
  dbOnlyJobsPerSec: number;
  submitP50IdleMs: number;
  submitP95IdleMs: number;
  submitP50DuringMs: number;
  submitP95DuringMs: number;
  submitsDuring: number;
}

const FILES_PER_JOB = 2;
const FAR_FUTURE = Date.UTC(2100, 0, 1);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)]! : NaN;
};
const median = (xs: number[]) => pct(xs, 0.5);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One submit over HTTP: the create path (auth, hold, job and task rows) without waiting for the job. */
async function submit(srv: EaselProcess, key: string): Promise<number> {
  const t0 = performance.now();
  const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `sweep bench ${crypto.randomUUID()}` }, headers: { prefer: 'wait=0' } });
  const ms = performance.now() - t0;
  if (r.status !== 202) throw new Error(`submit: ${r.status} ${r.text}`);
  return ms;
}

/** Sequential submits, a short pause between them, until `until()` says stop (at least `min`). */
async function submitLatencies(srv: EaselProcess, key: string, until: () => boolean, min: number): Promise<number[]> {
  const out: number[] = [];
  while (out.length < min || !until()) {
    out.push(await submit(srv, key));
    await sleep(20);
  }
  return out;
}

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

export async function measureSweepRate(opts: { mode: 'embedded' | 'scaleout'; jobs: number }): Promise<SweepRate> {
  if (opts.mode !== MODE) throw new Error(`measureSweepRate(${opts.mode}) needs EASEL_TEST_MODE=${opts.mode} (the harness reads the mode once)`);
  const srv = await EaselProcess.start({
    env: { EASEL_RETENTION_SWEEP_MS: '100', EASEL_SKETCH_LATENCY_MS: '600000', EASEL_SQLITE_SYNCHRONOUS: 'FULL', EASEL_RATE_LIMIT_PER_MIN: '10000000', EASEL_MAX_QUEUED_JOBS: '10000000' },
  });
  const { db, blob } = openServerStores(srv);
  try {
    const key = await srv.createKey('sweep-bench', '100000');
    const { id: accountId } = await db.selectFrom('accounts').select('id').executeTakeFirstOrThrow();
    const seeded = await seedEndedJobs(db, blob, { accountId, count: opts.jobs, expiresAt: FAR_FUTURE, files: FILES_PER_JOB, concurrency: MODE === 'scaleout' ? 16 : 32 });
    await sleep(500);
    const idle = await submitLatencies(srv, key, () => true, 60);

    const dueAt = Date.now();
    await db.updateTable('jobs').set({ result_expires_at: dueAt }).where('result_expires_at', '=', FAR_FUTURE).execute();
    let done = false;
    // BENCH_SWEEP_QUIET=1: no submits during the sweep (what the submits' own commits cost the sweep).
    const during = process.env.BENCH_SWEEP_QUIET === '1' ? Promise.resolve([NaN]) : submitLatencies(srv, key, () => done, 1);
    // Awaited below; until then a failed submit must not end the process before `finally` stops the server.
    during.catch(() => undefined);
    while (!done) {
      await sleep(100);
      const { n } = await db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n')).where('result_expired_at', 'is', null).where('result_expires_at', '<=', dueAt).executeTakeFirstOrThrow();
      done = Number(n) === 0;
    }
    const duringMs = await during;
    const { last } = await db.selectFrom('jobs').select((eb) => eb.fn.max('result_expired_at').as('last')).executeTakeFirstOrThrow();
    const sweepSeconds = (Number(last) - dueAt) / 1000;

    // The database side alone: the same rows unmarked, swept here against a store that does nothing.
    await srv.kill('SIGKILL');
    await db.updateTable('jobs').set({ result_expired_at: null }).where('result_expires_at', '=', dueAt).execute();
    const t0 = performance.now();
    const again = await new RetentionSweeper(db, nullBlob, pino({ level: 'silent' }), 60_000).sweep(dueAt);
    const dbOnlySeconds = (performance.now() - t0) / 1000;
    if (again !== seeded.length) throw new Error(`database-only sweep marked ${again} of ${seeded.length}`);

    return {
      mode: opts.mode,
      jobs: seeded.length,
      jobsPerSec: seeded.length / sweepSeconds,
      keysPerSec: (seeded.length * FILES_PER_JOB) / sweepSeconds,
      sweepSeconds,
      dbOnlyJobsPerSec: seeded.length / dbOnlySeconds,
      submitP50IdleMs: median(idle),
      submitP95IdleMs: pct(idle, 0.95),
      submitP50DuringMs: median(duringMs),
      submitP95DuringMs: pct(duringMs, 0.95),
      submitsDuring: duringMs.length,
    };
  } finally {
    await db.destroy();
    await srv.kill('SIGKILL');
    if (srv.databaseUrl) await dropDatabase(srv.databaseUrl).catch(() => undefined);
    if (srv.bucket) await (blob as S3BlobStore).deletePrefixes(['jobs', 'uploads']).catch(() => undefined);
  }
}

/** One mode's runs in a child process (the harness reads EASEL_TEST_MODE once), results as JSON lines. */
async function runMode(mode: 'embedded' | 'scaleout', jobs: number, runs: number): Promise<SweepRate[]> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--child', mode, String(jobs), String(runs)], { env: { ...process.env, EASEL_TEST_MODE: mode }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${mode} runs exited with ${code}`);
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as SweepRate);
}

const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv[2] === '--child') {
  const mode = process.argv[3] as 'embedded' | 'scaleout';
  for (let i = 0; i < Number(process.argv[5]); i++) {
    const r = await measureSweepRate({ mode, jobs: Number(process.argv[4]) });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    process.stderr.write(`  ${mode} run ${i + 1}: ${r.jobsPerSec.toFixed(0)} jobs/s, submit p50 ${r.submitP50IdleMs.toFixed(1)} → ${r.submitP50DuringMs.toFixed(1)} ms\n`);
  }
} else if (isMain) {
  const runs = Number(process.env.BENCH_SWEEP_RUNS ?? 3);
  const fixed = process.env.BENCH_SWEEP_JOBS ? Number(process.env.BENCH_SWEEP_JOBS) : null;
  const rows: string[] = [];
  const results: ResultRow[] = [];
  for (const [mode, jobs] of [['embedded', fixed ?? 10_000], ['scaleout', fixed ?? 1_000]] as const) {
    const rs = await runMode(mode, jobs, runs);
    const m = (f: (r: SweepRate) => number) => median(rs.map(f));
    const rate = m((r) => r.jobsPerSec);
    results.push(
      { id: 'scale.sweep_jobs_per_s', mode, stored: jobs, value: Math.round(rate), unit: 'jobs/s', anchor: Math.round(m((r) => r.dbOnlyJobsPerSec)), ratio: rate / m((r) => r.dbOnlyJobsPerSec), target: '≥ 1000 jobs/s', met: rate >= 1000 },
      { id: 'scale.sweep_submit_p50_ms', mode, stored: jobs, value: m((r) => r.submitP50DuringMs), unit: 'ms', anchor: m((r) => r.submitP50IdleMs), ratio: m((r) => r.submitP50DuringMs) / m((r) => r.submitP50IdleMs), target: '—', met: null },
    );
    rows.push(
      `| ${mode} | ${jobs} | ${m((r) => r.jobsPerSec).toFixed(0)} | ${m((r) => r.keysPerSec).toFixed(0)} | ${m((r) => r.dbOnlyJobsPerSec).toFixed(0)} | ${m((r) => r.submitP50IdleMs).toFixed(1)} / ${m((r) => r.submitP95IdleMs).toFixed(1)} | ${m((r) => r.submitP50DuringMs).toFixed(1)} / ${m((r) => r.submitP95DuringMs).toFixed(1)} | ${rs.map((r) => r.jobsPerSec.toFixed(0)).join(', ')} |`,
    );
  }
  console.log(`Retention sweep, median of ${runs} runs:`);
  console.log('| mode | jobs | jobs/s | keys/s | jobs/s, database only | submit p50 / p95 idle (ms) | submit p50 / p95 during (ms) | runs (jobs/s) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  mergeResults(results);
}
