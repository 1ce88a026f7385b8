/**
 * `npm run bench:capacity` (issue 25, docs/CAPACITY.md): what one job costs each shared component
 * of a scale-out deployment, measured on a real one here — 2 API processes and 4 worker processes on
 * one PostgreSQL and one S3 bucket (Swift), clients submitting through both APIs and polling each
 * job once a second as the Depicta docs suggest. Per image job and per story scene:
 *   - PostgreSQL: transactions, rows inserted/updated/deleted, WAL bytes, database growth
 *     (pg_stat_database and pg_current_wal_lsn before and after, nothing else on the database);
 *   - CPU seconds in the API processes and in the worker processes (/proc/<pid>/stat);
 *   - blob bytes and objects (the bucket listed after);
 * and the run's own throughput, which the model in docs/CAPACITY.md must explain.
 *
 *   CAPACITY_JOBS=400      image jobs (CAPACITY_STORIES=20 stories of 3 scenes after them)
 *   CAPACITY_OUT=file      JSON (default test-artifacts/capacity.json)
 * Loopback only; needs PostgreSQL and Swift (`bash scripts/services.sh`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { EaselProcess, MODE, api } from '../test/helpers/server.js';
import { listBlobs } from '../test/helpers/store-snapshot.js';

if (MODE !== 'scaleout') throw new Error('bench/capacity.ts measures a scale-out deployment: run with EASEL_TEST_MODE=scaleout');
const JOBS = Number(process.env.CAPACITY_JOBS ?? 400);
const STORIES = Number(process.env.CAPACITY_STORIES ?? 20);
const OUT = path.resolve(process.env.CAPACITY_OUT ?? 'test-artifacts/capacity.json');
const CLK = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in 1/100 s on Linux

const STORY = {
  model: 'easel-sketch',
  raw_prompts: true,
  characters: [{ name: 'Ines', appearance: 'a botanist with a red hat' }],
  scenes: [{ prompt: 'capacity: the greenhouse', characters: ['Ines'] }, { prompt: 'capacity: a night walk', characters: ['Ines'] }, { prompt: 'capacity: the first bloom' }],
};

function cpuSeconds(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK; // utime, stime
}

/** Busy CPU seconds of the whole machine (/proc/stat: everything but idle and iowait). */
function machineBusySeconds(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return (user + nice + system + irq + softirq + steal) / CLK;
}

interface DbStats { xact: number; ins: number; upd: number; del: number; wal: number; size: number }

async function dbStats(url: string): Promise<DbStats> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // The statistics collector publishes with a delay: ask for a fresh snapshot first.
    await c.query('select pg_stat_clear_snapshot()');
    const s = await c.query(`select xact_commit + xact_rollback as xact, tup_inserted as ins, tup_updated as upd, tup_deleted as del from pg_stat_database where datname = current_database()`);
    const w = await c.query(`select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as wal, pg_database_size(current_database())::text as size`);
    const r = s.rows[0];
    return { xact: Number(r.xact), ins: Number(r.ins), upd: Number(r.upd), del: Number(r.del), wal: Number(w.rows[0].wal), size: Number(w.rows[0].size) };
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Submits `n` creates round-robin over the APIs (async), then polls each once a second until it ends. */
async function run(apis: EaselProcess[], key: string, n: number, body: (i: number) => { path: string; body: unknown }, pollPath: (id: string) => string): Promise<{ seconds: number; polls: number }> {
  const t0 = performance.now();
  let polls = 0;
  const one = async (i: number) => {
    const a = apis[i % apis.length]!;
    const b = body(i);
    const r = await api(a.baseUrl, 'POST', b.path, { key, body: b.body, headers: { prefer: 'wait=0' } });
    if (r.status !== 202 && r.status !== 200) throw new Error(`${b.path}: ${r.status} ${r.text}`);
    const id = r.headers.get('x-easel-job-id')!;
    for (;;) {
      await sleep(1000);
      polls++;
      const j = await api(apis[(i + polls) % apis.length]!.baseUrl, 'GET', pollPath(id), { key });
      const st = (j.body as { status?: string }).status;
      if (st === 'completed' || st === 'failed') {
        if (st !== 'completed') throw new Error(`job ${id} failed: ${j.text}`);
        return;
      }
    }
  };
  // Clients arrive over the run, not all at once: a steady 40 in flight.
  let next = 0;
  await Promise.all(Array.from({ length: 40 }, async () => {
    while (next < n) await one(next++);
  }));
  return { seconds: (performance.now() - t0) / 1000, polls };
}

async function measure(apis: EaselProcess[], workers: EaselProcess[], url: string, bucket: EaselProcess, work: () => Promise<{ seconds: number; polls: number }>) {
  const cpu = (ps: EaselProcess[]) => ps.reduce((s, p) => s + cpuSeconds(p.child!.pid!), 0);
  const blobsBefore = await listBlobs(bucket, 'jobs');
  const d0 = await dbStats(url);
  const a0 = cpu(apis);
  const w0 = cpu(workers);
  const m0 = machineBusySeconds();
  const r = await work();
  const machineCpuS = machineBusySeconds() - m0;
  await sleep(1500); // the statistics collector's delay
  const d1 = await dbStats(url);
  const blobsAfter = await listBlobs(bucket, 'jobs');
  const added = [...blobsAfter.entries()].filter(([k]) => !blobsBefore.has(k));
  return {
    ...r,
    apiCpuS: cpu(apis) - a0,
    workerCpuS: cpu(workers) - w0,
    // Everything else busy meanwhile: PostgreSQL, Swift, the clients of this bench (and any other load).
    machineCpuS,
    db: { xact: d1.xact - d0.xact, ins: d1.ins - d0.ins, upd: d1.upd - d0.upd, del: d1.del - d0.del, walBytes: d1.wal - d0.wal, sizeBytes: d1.size - d0.size },
    blobObjects: added.length,
    blobBytes: added.reduce((s, [, v]) => s + Number(v.split(' ')[0]), 0),
  };
}

async function main(): Promise<void> {
  const load = os.loadavg();
  console.log(`[capacity] load ${load.map((l) => l.toFixed(2)).join(' ')}; ${JOBS} image jobs, ${STORIES} stories of ${STORY.scenes.length} scenes; 2 API + 4 worker processes`);
  const env = { EASEL_SKETCH_LATENCY_MS: '0', EASEL_WORKER_CONCURRENCY: '4', EASEL_DATABASE_POOL_SIZE: '6' };
  const first = await EaselProcess.start({ args: ['--no-worker'], env });
  const procs: EaselProcess[] = [first];
  try {
    const second = await EaselProcess.start({ args: ['--no-worker'], env, sharedWith: first });
    procs.push(second);
    const workers: EaselProcess[] = [];
    for (let i = 0; i < 4; i++) workers.push(await EaselProcess.start({ command: 'worker', env, sharedWith: first }));
    procs.push(...workers);
    const apis = [first, second];
    const key = await first.createKey('capacity', '100000');
    // Warm-up: plans, pools, the renderer's caches.
    await run(apis, key, 8, (i) => ({ path: '/v1/generate/image', body: { prompt: `warm-up ${i}` } }), (id) => `/v1/jobs/${id}`);

    const image = await measure(apis, workers, first.databaseUrl!, first, () =>
      run(apis, key, JOBS, (i) => ({ path: '/v1/generate/image', body: { prompt: `capacity image ${i}`, metadata: { run: 'capacity' } } }), (id) => `/v1/jobs/${id}`),
    );
    const story = await measure(apis, workers, first.databaseUrl!, first, () => run(apis, key, STORIES, () => ({ path: '/v1/generate/story', body: STORY }), (id) => `/v1/generate/story/${id}`));
    const scenes = STORIES * STORY.scenes.length;
    const per = (m: typeof image, n: number) => ({
      dbTransactions: m.db.xact / n,
      dbRowsInserted: m.db.ins / n,
      dbRowsUpdated: m.db.upd / n,
      dbRowsDeleted: m.db.del / n,
      walBytes: m.db.walBytes / n,
      dbGrowthBytes: m.db.sizeBytes / n,
      apiCpuMs: (m.apiCpuS * 1000) / n,
      workerCpuMs: (m.workerCpuS * 1000) / n,
      machineCpuMs: (m.machineCpuS * 1000) / n,
      blobObjects: m.blobObjects / n,
      blobBytes: m.blobBytes / n,
      pollsPerJob: m.polls / (n === scenes ? STORIES : n),
    });
    const result = {
      startedAt: new Date().toISOString(),
      loadAvg: load,
      cores: os.cpus().length,
      processes: { api: 2, worker: 4, workerConcurrency: 4 },
      image: { jobs: JOBS, seconds: image.seconds, jobsPerSecond: JOBS / image.seconds, raw: image, per: per(image, JOBS) },
      story: { stories: STORIES, scenes, seconds: story.seconds, scenesPerSecond: scenes / story.seconds, raw: story, perScene: per(story, scenes) },
    };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(result, null, 2));
    console.log(JSON.stringify({ image: result.image.per, jobsPerSecond: result.image.jobsPerSecond, story: result.story.perScene, scenesPerSecond: result.story.scenesPerSecond }, null, 2));
    console.log(`[capacity] wrote ${OUT}`);
  } finally {
    for (const p of procs.reverse()) await p.stop().catch(() => undefined);
  }
}

await main();
