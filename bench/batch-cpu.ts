/**
 * Issue 21's benchmark row: the server CPU per item of one 1 000-item batch (POST /v1/batches)
 * against the server CPU per job of 1 000 single jobs (POST /v1/generate/image), both on the same
 * server in the same run, zero provider latency, the cheapest model (easel-sketch-fast, 1K).
 * Target: batch ÷ single ≤ 1.1.
 *
 * What each side does, as a client would:
 *   single  SUBMITTERS clients post the jobs with `Prefer: wait=0` (202 {job_id} at once, no waiting
 *           request held open); then one GET /v1/jobs/{id} per job, in order, re-polling a job not yet
 *           ended every POLL_MS (so most jobs are polled once, when they are done, and the waiting
 *           costs about one poll per POLL_MS of wall time).
 *   batch   one POST /v1/batches of all items (model in `defaults`); GET /v1/jobs/{batch} every
 *           POLL_MS until it has ended (the same waiting cost); then GET results.jsonl once (every
 *           item's result with its signed URLs: what the singles' last polls gave).
 * CPU is user + system time from /proc of the server process and every process below it (threads
 * included; children that ended are counted through the parent's cutime/cstime), read before the
 * first request and after the last answer. In scale-out the PostgreSQL backends of the server's
 * database are read the same way and reported beside it (not in the ratio: the row is the server's).
 * Each measurement uses a fresh account; rounds alternate the order (single batch, batch single, …).
 *
 *   npm run bench:batch          both modes, one process each (the harness reads EASEL_TEST_MODE once)
 *   BENCH_BATCH_ITEMS=1000 BENCH_BATCH_ROUNDS=3   items per measurement, rounds (median reported)
 * `npm run bench` (bench/suite.ts) reuses measureBatchCpu for its "batch CPU" row.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { EaselProcess, MODE, PG_ADMIN_URL, api } from '../test/helpers/server.js';
import { processTree } from '../test/helpers/proc.js';
import { newId } from '../src/util/ids.js';
import { SQLITE_SYNCHRONOUS, SUBMITTERS, WORKER_SLOTS } from './queue-throughput.js';

export const BATCH_CPU_MODEL = 'easel-sketch-fast';
const POLL_MS = 250;
const CLOCK_TICKS = 100;

/** The server settings of this row: zero latency, the throughput row's worker slots, no account limit in the way. */
export const BATCH_CPU_ENV: Record<string, string> = {
  EASEL_SKETCH_LATENCY_MS: '0',
  EASEL_WORKER_CONCURRENCY: String(WORKER_SLOTS),
  EASEL_MAX_CONCURRENT_JOBS: '1000',
  // 1 000 singles wait at once; the default backlog bound (1 000) would be reached exactly.
  EASEL_MAX_QUEUED_JOBS: '100000',
};

/** CPU seconds of a process and all its descendants, including descendants that ended and were reaped. */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const pid of processTree(root)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      // After the command name: field 3 onwards; utime, stime, cutime, cstime are fields 14–17.
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // ended meanwhile: counted in its parent's cutime once reaped
    }
  }
  return ticks / CLOCK_TICKS;
}

/** The PostgreSQL backends serving `databaseUrl` (scale-out), as pid → CPU seconds. */
async function pgBackendCpu(databaseUrl: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const name = new URL(databaseUrl).pathname.slice(1);
    const r = await client.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1', [name]);
    const out = new Map<number, number>();
    for (const { pid } of r.rows) {
      try {
        const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        const x = f.slice(f.lastIndexOf(')') + 2).split(' ');
        out.set(pid, (Number(x[11]) + Number(x[12])) / CLOCK_TICKS);
      } catch {
        // another host or gone
      }
    }
    return out;
  } finally {
    await client.end();
  }
}

/** CPU of the backends between two readings: those present at the end, less what they had at the start. */
const pgDelta = (a: Map<number, number>, b: Map<number, number>) => [...b].reduce((s, [pid, c]) => s + c - (a.get(pid) ?? 0), 0);

export interface Phase {
  kind: 'single' | 'batch';
  items: number;
  cpuMs: number;
  cpuMsPerItem: number;
  /** PostgreSQL backends of the server's database (scale-out), ms per item; null in embedded mode. */
  pgCpuMsPerItem: number | null;
  wallS: number;
  /** Client requests in the phase (submits, polls, results). */
  requests: number;
}

const prompt = (i: number) => `bench batch ${i} ${newId()}`;
const TERMINAL = new Set(['completed', 'failed', 'canceled']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function singles(srv: EaselProcess, key: string, n: number): Promise<number> {
  const ids: string[] = new Array(n);
  let next = 0;
  let requests = 0;
  await Promise.all(
    Array.from({ length: Math.min(SUBMITTERS, n) }, async () => {
      for (let i = next++; i < n; i = next++) {
        const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: prompt(i), model: BATCH_CPU_MODEL }, headers: { prefer: 'wait=0' } });
        requests++;
        const id = r.status === 202 ? r.body.job_id : r.status === 200 ? r.headers.get('x-easel-job-id') : null;
        if (!id) throw new Error(`single ${i}: ${r.status} ${r.text.slice(0, 300)}`);
        ids[i] = id;
      }
    }),
  );
  for (const id of ids) {
    for (;;) {
      const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
      requests++;
      if (r.status !== 200) throw new Error(`poll ${id}: ${r.status} ${r.text.slice(0, 300)}`);
      if (TERMINAL.has(r.body.status)) {
        if (r.body.status !== 'completed') throw new Error(`single ${id} ended ${r.body.status}: ${r.text.slice(0, 300)}`);
        break;
      }
      await sleep(POLL_MS);
    }
  }
  return requests;
}

async function oneBatch(srv: EaselProcess, key: string, n: number): Promise<number> {
  const items = Array.from({ length: n }, (_, i) => ({ prompt: prompt(i) }));
  const r = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items, defaults: { model: BATCH_CPU_MODEL } } });
  if (r.status !== 202) throw new Error(`batch: ${r.status} ${r.text.slice(0, 500)}`);
  const id = r.body.job_id as string;
  let requests = 1;
  for (;;) {
    const j = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    requests++;
    if (j.status !== 200) throw new Error(`poll batch: ${j.status} ${j.text.slice(0, 300)}`);
    if (TERMINAL.has(j.body.status)) {
      if (j.body.status !== 'completed' || j.body.batch?.items_completed !== n) throw new Error(`batch ended ${j.body.status}: ${j.text.slice(0, 500)}`);
      break;
    }
    await sleep(POLL_MS);
  }
  // Not through api(): it would parse the x-ndjson body as one JSON document.
  const res = await fetch(`${srv.baseUrl}/v1/batches/${id}/results.jsonl`, { headers: { authorization: `Bearer ${key}` } });
  requests++;
  const lines = (await res.text()).split('\n').filter(Boolean);
  if (res.status !== 200 || lines.length !== n) throw new Error(`results.jsonl: ${res.status}, ${lines.length} lines of ${n}`);
  if (!lines.every((l) => (JSON.parse(l) as { status: string }).status === 'completed')) throw new Error('results.jsonl: an item did not complete');
  return requests;
}

let accounts = 0;
async function phase(srv: EaselProcess, kind: Phase['kind'], n: number): Promise<Phase> {
  // A fresh account per measurement, with credit for every item (0.01 EUR each) and more.
  const key = await srv.createKey(`bench-batch-${kind}-${++accounts}`, String(Math.max(100, n)));
  const pid = srv.child!.pid!;
  const pg0 = srv.databaseUrl ? await pgBackendCpu(srv.databaseUrl) : null;
  const c0 = treeCpuSeconds(pid);
  const t0 = performance.now();
  const requests = kind === 'single' ? await singles(srv, key, n) : await oneBatch(srv, key, n);
  const wallS = (performance.now() - t0) / 1000;
  const cpuMs = (treeCpuSeconds(pid) - c0) * 1000;
  const pgMs = pg0 && srv.databaseUrl ? pgDelta(pg0, await pgBackendCpu(srv.databaseUrl)) * 1000 : null;
  // Whatever the phase left running (GC, trailing writes) ends before the next one is measured.
  await sleep(1000);
  return { kind, items: n, cpuMs, cpuMsPerItem: cpuMs / n, pgCpuMsPerItem: pgMs == null ? null : pgMs / n, wallS, requests };
}

export interface BatchCpuResult {
  items: number;
  rounds: number;
  phases: Phase[];
  /** Median CPU ms per item of each kind over the rounds. */
  single: number;
  batch: number;
  ratio: number;
  pgSingle: number | null;
  pgBatch: number | null;
  /** The idle server's CPU before measuring, ms per second (what a phase's wall time adds besides the work). */
  idleMsPerS: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** Warm-up (unmeasured: JIT, the renderer's first parse of its icon set), then `rounds` alternating pairs of measurements. */
export async function measureBatchCpu(srv: EaselProcess, o: { items: number; rounds: number; warmItems: number; log?: (s: string) => void }): Promise<BatchCpuResult> {
  if (o.warmItems > 0) {
    await phase(srv, 'single', o.warmItems);
    await phase(srv, 'batch', o.warmItems);
  }
  const i0 = treeCpuSeconds(srv.child!.pid!);
  await sleep(2000);
  const idleMsPerS = ((treeCpuSeconds(srv.child!.pid!) - i0) * 1000) / 2;
  const phases: Phase[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (const kind of r % 2 === 0 ? (['single', 'batch'] as const) : (['batch', 'single'] as const)) {
      const p = await phase(srv, kind, o.items);
      phases.push(p);
      o.log?.(`[batch-cpu ${MODE}] round ${r + 1} ${kind}: ${p.cpuMsPerItem.toFixed(2)} ms CPU/item${p.pgCpuMsPerItem == null ? '' : ` (+ PostgreSQL ${p.pgCpuMsPerItem.toFixed(2)})`}, ${p.wallS.toFixed(1)} s wall, ${p.requests} requests`);
    }
  }
  const of = (k: Phase['kind'], f: (p: Phase) => number | null) => {
    const xs = phases.filter((p) => p.kind === k).map(f);
    return xs.every((x) => x != null) ? median(xs as number[]) : null;
  };
  const single = of('single', (p) => p.cpuMsPerItem)!;
  const batch = of('batch', (p) => p.cpuMsPerItem)!;
  return { items: o.items, rounds: o.rounds, phases, single, batch, ratio: batch / single, pgSingle: of('single', (p) => p.pgCpuMsPerItem), pgBatch: of('batch', (p) => p.pgCpuMsPerItem), idleMsPerS };
}

/** The row's server: production SQLite durability, the per-key limit far above one bench key, optional CPU profile (bench/lib/cpu-prof.mjs). */
export async function startBatchCpuServer(): Promise<EaselProcess> {
  const profileDir = process.env.BENCH_PROFILE_DIR ? path.resolve(process.env.BENCH_PROFILE_DIR) : null;
  const srv = await EaselProcess.start({
    env: {
      EASEL_SQLITE_SYNCHRONOUS: SQLITE_SYNCHRONOUS,
      EASEL_RATE_LIMIT_PER_MIN: '10000000',
      ...(profileDir ? { NODE_OPTIONS: `--import=${path.resolve(import.meta.dirname, 'lib', 'cpu-prof.mjs')}`, BENCH_CPU_PROF_DIR: profileDir } : {}),
      ...BATCH_CPU_ENV,
    },
  });
  // The harness keeps every stdout line; read and drop them instead.
  srv.child!.stdout!.removeAllListeners('data');
  srv.child!.stdout!.on('data', () => undefined);
  return srv;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const items = Number(process.env.BENCH_BATCH_ITEMS ?? 1000);
  const rounds = Number(process.env.BENCH_BATCH_ROUNDS ?? 3);
  const srv = await startBatchCpuServer();
  try {
    const r = await measureBatchCpu(srv, { items, rounds, warmItems: Math.min(50, items), log: (s) => console.error(s) });
    const pgText = r.pgSingle == null ? '' : `; PostgreSQL backends: single ${r.pgSingle.toFixed(2)}, batch ${r.pgBatch!.toFixed(2)} ms/item`;
    console.log(`${MODE}: ${items} items × ${rounds} rounds, median server CPU per item: single ${r.single.toFixed(2)} ms, batch ${r.batch.toFixed(2)} ms; batch ÷ single ${r.ratio.toFixed(3)} (target ≤ 1.1)${pgText}; idle server ${r.idleMsPerS.toFixed(1)} ms/s`);
    if (process.env.BENCH_BATCH_JSON) fs.writeFileSync(process.env.BENCH_BATCH_JSON, JSON.stringify({ mode: MODE, ...r }, null, 2));
  } finally {
    await srv.stop();
  }
  process.exit(0);
}
