/**
 * Dependency faults under load: one Easel API process and one worker process run a mixed workload
 * (synchronous images, processing jobs, uploads, job polls from 4 client loops over 2 accounts)
 * while one dependency goes away for a while and comes back:
 *   db      PostgreSQL restarted (fast shutdown, down for a few seconds, started again) — scale-out
 *   db-hang PostgreSQL frozen (postmaster and every backend SIGSTOPped, connections left open), then
 *           SIGCONT — as a hung host or a network partition looks; only the query timeout ends a wait — scale-out
 *   s3      the S3 server unreachable for 30 s (made at a loopback proxy: Swift is shared) — scale-out
 *   redis   the rate-limit store (Redis) stopped, then started again — either mode
 *   disk    the data directory's filesystem (a 64 MiB tmpfs) full, then freed — embedded
 *   sqlite  another connection holding SQLite's write lock (BEGIN EXCLUSIVE) — embedded
 * Then it drains and checks: every accepted job completed (none lost, none failed), no image
 * generated twice (provider call log), the ledger exact, every answer during the outage a 503 with
 * Retry-After in the error shape or a success (never a 500, never a request hanging past 15 s),
 * and service back after the fault. test/e2e/dependency-faults.test.ts runs it per fault;
 * `npm run chaos -- --faults db,db-hang,s3,redis,disk,sqlite` runs it by hand (scripts/chaos.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { EaselProcess, S3_CREDS, S3_ENDPOINT, createDatabase, dropDatabase } from '../test/helpers/server.js';
import { auditLedger } from '../test/helpers/ledger.js';
import { quadrants } from '../test/helpers/images.js';
import { OwnPostgres, OwnRedis, S3Proxy, SmallDisk, SqliteLock, freePort } from '../test/helpers/faults.js';

export type FaultName = 'db' | 'db-hang' | 's3' | 'redis' | 'disk' | 'sqlite';
export const FAULTS: FaultName[] = ['db', 'db-hang', 's3', 'redis', 'disk', 'sqlite'];
/** The mode each fault exists in (null: either). */
export const FAULT_MODE: Record<FaultName, 'embedded' | 'scaleout' | null> = { db: 'scaleout', 'db-hang': 'scaleout', s3: 'scaleout', redis: null, disk: 'embedded', sqlite: 'embedded' };
/**
 * How long each dependency stays away by default. db-hang: longer than the query timeout (8 s by
 * default), so queries sent at the freeze time out (503) rather than only waiting it out.
 */
export const OUTAGE_MS: Record<FaultName, number> = { db: 5000, 'db-hang': 10_000, s3: 30_000, redis: 10_000, disk: 10_000, sqlite: 10_000 };
/** A request answered later than this counts as a hang. */
export const HANG_MS = 15_000;
/** Service must be back (a create answered 2xx) this soon after the fault ends. */
export const RECOVERY_BOUND_MS = 60_000;

export interface FaultOptions {
  fault: FaultName;
  mode: 'embedded' | 'scaleout';
  outageMs?: number;
  warmupMs?: number;
  clients?: number;
  log?: (line: string) => void;
}

interface Sample {
  kind: 'image' | 'process' | 'upload' | 'poll' | 'probe';
  start: number;
  end: number;
  status: number | 'hang' | 'connection error';
  retryAfter: string | null;
  code: string | null;
  jobId: string | null;
}

export interface FaultReport {
  fault: FaultName;
  mode: string;
  outageMs: number;
  jobs: { accepted: number; acknowledged: number; completed: number; failed: number; lost: number; byOperation: Record<string, number> };
  providerCalls: { total: number; steps: number; repeated: number };
  /** Ledger: terminal jobs whose captures differ from their charge, or whose holds do not net to zero. */
  doubleCharges: number;
  requests: Record<string, number>;
  duringOutage: { requests: number; ok: number; unavailable: number; other: number };
  /** From the first 503 answer's request to the last one's answer (0 when none). */
  longest503WindowMs: number;
  /** Fault end → the answer of the first probe (a request that needs the dependency) sent after it that succeeded. */
  recoveryMs: number | null;
  slowestRequestMs: number;
  drainMs: number;
  /** Every answer, ms from the fault's start (for the report's timeline). */
  timeline?: { kind: string; at: number; ms: number; status: number | string }[];
  /** Redis only: rate-limit keys written to the restarted Redis (the limiter reconnected). */
  redisKeysAfterRestart?: number;
  loadAverage: number[];
  violations: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ACCOUNTS = ['fault-a', 'fault-b'];

/** One HTTP call with a hang bound; never throws. */
async function call(kind: Sample['kind'], url: string, init: RequestInit): Promise<{ sample: Sample; body: any }> {
  const start = Date.now();
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(HANG_MS) });
    const text = await res.text();
    let body: any = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    const jobId = res.headers.get('x-easel-job-id') ?? (typeof body?.job_id === 'string' ? body.job_id : null);
    return { sample: { kind, start, end: Date.now(), status: res.status, retryAfter: res.headers.get('retry-after'), code: typeof body?.error === 'string' ? body.error : null, jobId }, body };
  } catch (e) {
    const hang = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
    return { sample: { kind, start, end: Date.now(), status: hang ? 'hang' : 'connection error', retryAfter: null, code: null, jobId: null }, body: null };
  }
}

export async function runFault(opts: FaultOptions): Promise<FaultReport> {
  const { fault, mode } = opts;
  const outageMs = opts.outageMs ?? OUTAGE_MS[fault];
  const warmupMs = opts.warmupMs ?? 6000;
  const clients = opts.clients ?? 4;
  const log = opts.log ?? ((l: string) => console.log(l));
  const violations: string[] = [];
  const tag = crypto.randomBytes(4).toString('hex');
  const cleanups: (() => Promise<void> | void)[] = [];
  const report: FaultReport = {
    fault,
    mode,
    outageMs,
    jobs: { accepted: 0, acknowledged: 0, completed: 0, failed: 0, lost: 0, byOperation: {} },
    providerCalls: { total: 0, steps: 0, repeated: 0 },
    doubleCharges: 0,
    requests: {},
    duringOutage: { requests: 0, ok: 0, unavailable: 0, other: 0 },
    longest503WindowMs: 0,
    recoveryMs: null,
    slowestRequestMs: 0,
    drainMs: 0,
    loadAverage: [],
    violations,
  };
  const expected = FAULT_MODE[fault];
  if (expected && expected !== mode) throw new Error(`fault ${fault} runs in ${expected} mode, not ${mode}`);

  const callDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fault-'));
  cleanups.push(() => fs.rmSync(callDir, { recursive: true, force: true }));
  const callLog = path.join(callDir, 'provider-calls.jsonl');
  const env: Record<string, string> = {
    EASEL_SKETCH_LATENCY_MS: '250',
    EASEL_WORKER_CONCURRENCY: '3',
    EASEL_MAX_CONCURRENT_JOBS: '1000',
    EASEL_SHUTDOWN_GRACE_MS: '3000',
    EASEL_PROVIDER_CALL_LOG: callLog,
  };
  let dataDir = '';
  let databaseUrl: string | null = null;
  let dropDb: (() => Promise<void>) | null = null;
  let begin: () => Promise<void> | void = () => undefined;
  let end: () => Promise<void> | void = () => undefined;
  let redis: OwnRedis | null = null;
  const procs: EaselProcess[] = [];

  try {
    // ---- the dependency this run takes away, and the stores --------------------------------------
    if (fault === 'disk') {
      const disk = await SmallDisk.mount(64);
      cleanups.push(() => disk.close());
      dataDir = disk.dir;
      begin = () => {
        disk.fill();
        log(`  disk full: ${disk.freeBytes()} bytes free on ${disk.dir}`);
      };
      end = () => disk.free();
    } else {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fault-data-'));
      cleanups.push(() => fs.rmSync(dataDir, { recursive: true, force: true }));
    }
    if (mode === 'scaleout') {
      let s3Endpoint = S3_ENDPOINT;
      if (fault === 'db' || fault === 'db-hang') {
        const pgc = await OwnPostgres.start();
        cleanups.push(() => pgc.close());
        databaseUrl = await pgc.createDatabase('easel_fault');
        if (fault === 'db') {
          begin = () => pgc.down();
          end = () => pgc.up();
        } else {
          begin = () => log(`  db-hang: ${pgc.freeze()} PostgreSQL processes stopped`);
          end = () => pgc.thaw();
        }
      } else {
        databaseUrl = await createDatabase();
        const url = databaseUrl;
        dropDb = () => dropDatabase(url);
      }
      if (fault === 's3') {
        const proxy = await S3Proxy.start(S3_ENDPOINT);
        cleanups.push(() => proxy.close());
        s3Endpoint = proxy.endpoint;
        begin = () => proxy.cut();
        end = () => proxy.restore();
      }
      Object.assign(env, {
        EASEL_DATABASE_URL: databaseUrl,
        EASEL_DATABASE_POOL_SIZE: '6',
        EASEL_S3_ENDPOINT: s3Endpoint,
        EASEL_S3_BUCKET: `easel-fault-${tag}`,
        EASEL_S3_ACCESS_KEY_ID: S3_CREDS.accessKeyId,
        EASEL_S3_SECRET_ACCESS_KEY: S3_CREDS.secretAccessKey,
        EASEL_S3_FORCE_PATH_STYLE: 'true',
      });
    } else {
      // Embedded whatever EASEL_TEST_MODE says: empty values switch the scale-out drivers off.
      Object.assign(env, { EASEL_DATABASE_URL: '', EASEL_S3_ENDPOINT: '', EASEL_S3_ACCESS_KEY_ID: '', EASEL_S3_SECRET_ACCESS_KEY: '' });
    }
    if (fault === 'sqlite') {
      let lock: SqliteLock | null = null;
      begin = () => {
        lock = SqliteLock.take(path.join(dataDir, 'easel.sqlite'));
      };
      end = () => lock?.release();
      cleanups.push(() => lock?.release());
    }
    if (fault === 'redis') {
      const r = await OwnRedis.start();
      redis = r;
      cleanups.push(() => r.close());
      env.EASEL_REDIS_URL = r.url;
      begin = () => r.down();
      end = () => r.up();
    }
    const target = { dataDir, databaseUrl };
    // One public URL for both processes: the worker reads an upload URL of the API's as its own file.
    const port = await freePort();
    Object.assign(env, { EASEL_PORT: String(port), EASEL_PUBLIC_URL: `http://127.0.0.1:${port}` });

    // ---- processes, accounts, an input image -------------------------------------------------------
    const apiProc = new EaselProcess(dataDir, { ...env }, ['--no-worker'], 'serve');
    const worker = new EaselProcess(dataDir, { ...env }, [], 'worker');
    procs.push(apiProc, worker);
    await apiProc.boot();
    await worker.boot();
    const keys: string[] = [];
    for (const a of ACCOUNTS) keys.push(await apiProc.createKey(a, '1000'));
    const base = apiProc.baseUrl;
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(await quadrants())], { type: 'image/png' }), 'quad.png');
    const up = await call('upload', `${base}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${keys[0]}` }, body: form });
    if (up.sample.status !== 200) throw new Error(`setup upload answered ${up.sample.status}`);
    const inputUrl = String(up.body.upload_url);
    const uploadBytes = await quadrants('jpeg');
    log(`fault ${fault} (${mode}): API ${base}, worker, ${clients} clients, outage ${outageMs / 1000} s`);

    // ---- the workload ------------------------------------------------------------------------------
    const samples: Sample[] = [];
    const acknowledged = new Set<string>();
    let stop = false;
    let n = 0;
    const client = async (c: number) => {
      while (!stop) {
        const i = n++;
        const key = keys[c % keys.length]!;
        const auth = { authorization: `Bearer ${key}` };
        const pick = i % 7;
        let r: Awaited<ReturnType<typeof call>>;
        if (pick < 4) {
          r = await call('image', `${base}/v1/generate/image`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=5' }, body: JSON.stringify({ prompt: `a lighthouse in a storm, fault ${tag} ${i}` }) });
        } else if (pick < 6) {
          r = await call('process', `${base}/v1/process/resize`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=5' }, body: JSON.stringify({ input_image_url: inputUrl, width: 40 + (i % 50) }) });
        } else {
          const f = new FormData();
          f.append('image', new Blob([new Uint8Array(uploadBytes)], { type: 'image/jpeg' }), `in-${i}.jpg`);
          r = await call('upload', `${base}/v1/upload`, { method: 'POST', headers: auth, body: f });
        }
        samples.push(r.sample);
        if (r.sample.jobId && typeof r.sample.status === 'number' && r.sample.status < 300) acknowledged.add(r.sample.jobId);
        if (r.sample.jobId && r.sample.status === 202) {
          const p = await call('poll', `${base}/v1/jobs/${r.sample.jobId}`, { headers: auth });
          samples.push(p.sample);
        }
        await sleep(50);
      }
    };
    // A probe every 250 ms that needs the dependency (a write for the databases, a stored file for
    // storage and disk): its answers time the 503 window precisely.
    const probe = async () => {
      const auth = { authorization: `Bearer ${keys[0]}` };
      while (!stop) {
        let r: Awaited<ReturnType<typeof call>>;
        if (fault === 's3' || fault === 'disk') {
          const f = new FormData();
          f.append('image', new Blob([new Uint8Array(uploadBytes)], { type: 'image/jpeg' }), 'probe.jpg');
          r = await call('probe', `${base}/v1/upload`, { method: 'POST', headers: auth, body: f });
        } else {
          r = await call('probe', `${base}/v1/process/resize`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', prefer: 'wait=0' }, body: JSON.stringify({ input_image_url: inputUrl, width: 32 }) });
        }
        samples.push(r.sample);
        if (r.sample.jobId && typeof r.sample.status === 'number' && r.sample.status < 300) acknowledged.add(r.sample.jobId);
        await sleep(250);
      }
    };
    const runs = Promise.all([...Array.from({ length: clients }, (_, c) => client(c)), probe()]);

    // ---- the fault ---------------------------------------------------------------------------------
    await sleep(warmupMs);
    const faultStart = Date.now();
    log(`  ${fault}: taking it away at ${((faultStart - samples[0]!.start) / 1000).toFixed(1)} s`);
    await begin();
    await sleep(Math.max(0, outageMs - (Date.now() - faultStart)));
    let redisKeysBefore = 0;
    await end();
    const faultEnd = Date.now();
    log(`  ${fault}: back after ${((faultEnd - faultStart) / 1000).toFixed(1)} s`);
    if (redis) redisKeysBefore = await redis.rateLimitKeys();

    // Until a probe sent after the fault ended succeeds (or the bound passes), then a little more load.
    const recovered = () => samples.find((s) => s.start >= faultEnd && s.kind === 'probe' && typeof s.status === 'number' && s.status < 300);
    while (!recovered() && Date.now() - faultEnd < RECOVERY_BOUND_MS) await sleep(100);
    const first = recovered();
    report.recoveryMs = first ? first.end - faultEnd : null;
    await sleep(3000);
    stop = true;
    await runs;
    if (redis) report.redisKeysAfterRestart = await redis.rateLimitKeys();

    // ---- drain -------------------------------------------------------------------------------------
    const t0 = Date.now();
    while (Date.now() - t0 < 180_000) {
      const open = Number((await readDb(target, `select count(*) as n from jobs where status in ('pending','processing')`))[0]!.n);
      if (open === 0) break;
      await sleep(250);
    }
    report.drainMs = Date.now() - t0;

    // ---- verification ------------------------------------------------------------------------------
    const jobs = (await readDb(target, 'select id, operation, status, error_code from jobs')) as { id: string; operation: string; status: string; error_code: string | null }[];
    const ids = new Set(jobs.map((j) => j.id));
    for (const j of jobs) report.jobs.byOperation[j.operation] = (report.jobs.byOperation[j.operation] ?? 0) + 1;
    const missing = [...acknowledged].filter((id) => !ids.has(id));
    const open = jobs.filter((j) => j.status === 'pending' || j.status === 'processing');
    const failed = jobs.filter((j) => j.status === 'failed' || j.status === 'canceled');
    report.jobs = { ...report.jobs, accepted: jobs.length, acknowledged: acknowledged.size, completed: jobs.filter((j) => j.status === 'completed').length, failed: failed.length, lost: missing.length + open.length };
    for (const id of missing) violations.push(`acknowledged job ${id} is missing`);
    for (const j of open) violations.push(`job ${j.id} (${j.operation}) still ${j.status} after the drain`);
    for (const j of failed) violations.push(`job ${j.id} (${j.operation}) ${j.status}: ${j.error_code}`);

    const lines = fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').split('\n').filter(Boolean) : [];
    const calls = new Map<string, number>();
    for (const l of lines) {
      const c = JSON.parse(l) as { prompt: string; seed: number };
      const k = `${c.prompt}\u0000${c.seed}`;
      calls.set(k, (calls.get(k) ?? 0) + 1);
    }
    const repeated = [...calls.entries()].filter(([, v]) => v > 1);
    report.providerCalls = { total: lines.length, steps: calls.size, repeated: repeated.reduce((a, [, v]) => a + v - 1, 0) };
    for (const [k, v] of repeated) violations.push(`generated ${v} times: ${k.split('\u0000')[0]!.slice(0, 80)}`);

    for (const name of ACCOUNTS) {
      const a = await auditLedger(target, name);
      report.doubleCharges += a.chargeMismatches.length + a.unbalancedTerminalJobs.length;
      if (a.available !== a.grants - a.captures) violations.push(`${name}: balance ${a.available} ≠ grants ${a.grants} − captures ${a.captures}`);
      if (a.held !== 0) violations.push(`${name}: ${a.held} micro-EUR still held`);
      if (a.available !== a.ledgerAvailable || a.held !== a.ledgerHeld) violations.push(`${name}: running totals differ from the ledger rows`);
      for (const j of [...a.chargeMismatches, ...a.unbalancedTerminalJobs]) violations.push(`${name}: job ${j} charged differently from its ledger rows`);
    }

    // Answers: never a 500, never a hang, every 503 in the error shape with Retry-After.
    const bad: string[] = [];
    for (const s of samples) {
      const k = `${s.kind} ${s.status}`;
      report.requests[k] = (report.requests[k] ?? 0) + 1;
      report.slowestRequestMs = Math.max(report.slowestRequestMs, s.end - s.start);
      if (s.status === 'hang' || s.status === 'connection error') bad.push(`${s.kind} request sent at +${s.start - faultStart} ms (fault at 0): ${s.status === 'hang' ? `no answer within ${HANG_MS} ms` : 'connection lost'}`);
      else if (s.status >= 500 && s.status !== 503) bad.push(`${s.kind} request sent at +${s.start - faultStart} ms answered ${s.status} ${s.code}`);
      else if (s.status === 503 && (!s.retryAfter || !/^\d+$/.test(s.retryAfter) || s.code !== 'service_unavailable')) violations.push(`${s.kind} 503 without Retry-After or not service_unavailable (${s.code}, Retry-After ${s.retryAfter})`);
      if (s.end >= faultStart && s.start <= faultEnd) {
        report.duringOutage.requests++;
        if (typeof s.status === 'number' && s.status < 300) report.duringOutage.ok++;
        else if (s.status === 503) report.duringOutage.unavailable++;
        else report.duringOutage.other++;
      }
    }
    // The first few hangs and lost connections, and how many (a dead API loses every one after it).
    // A 500 is a bug: say what the server logged for the first one.
    if (samples.some((x) => x.status === 500)) {
      const line = apiProc.logs.find((l) => l.includes('"request failed"'));
      const err = line ? (JSON.parse(line) as { err?: { type?: string; message?: string; code?: string } }).err : undefined;
      violations.push(`the server logged for its first 500: ${err ? `${err.type} ${err.code ?? ''} ${err.message}` : 'nothing'}`);
    }
    if (bad.length > 0) violations.push(`${bad.length} requests answered 5xx (not 503), hung or lost their connection; the first: ${bad.slice(0, 5).join('; ')}`);
    if (process.env.FAULT_TIMELINE) report.timeline = samples.map((x) => ({ kind: x.kind, at: x.start - faultStart, ms: x.end - x.start, status: x.status }));
    const unavailable = samples.filter((s) => s.status === 503);
    // The longest run of consecutive probe answers that were 503: its first request sent → its last answered.
    let streak: Sample[] = [];
    for (const p of samples.filter((x) => x.kind === 'probe').sort((a, b) => a.start - b.start)) {
      if (p.status === 503) {
        streak.push(p);
        report.longest503WindowMs = Math.max(report.longest503WindowMs, p.end - streak[0]!.start);
      } else streak = [];
    }
    if (report.recoveryMs === null) violations.push(`no probe succeeded within ${RECOVERY_BOUND_MS / 1000} s after the fault ended`);
    if (fault === 'redis') {
      // The service does not need Redis: everything goes on, and the limiter finds the new server.
      if (report.duringOutage.unavailable > 0 || report.duringOutage.ok === 0) violations.push(`with Redis down: ${report.duringOutage.ok} answers ok, ${report.duringOutage.unavailable} × 503 (expected all ok)`);
      if (!report.redisKeysAfterRestart || report.redisKeysAfterRestart <= redisKeysBefore) violations.push(`the rate limiter wrote nothing to the restarted Redis (${report.redisKeysAfterRestart ?? 0} keys)`);
    } else if (unavailable.length === 0) {
      violations.push(`no request met the ${fault} outage (no 503 at all): the fault did not bite`);
    }
    for (const p of procs) {
      if (p.child && (p.child.exitCode !== null || p.child.signalCode !== null)) violations.push(`${p.command} process exited during the run (${p.child.exitCode ?? p.child.signalCode}); its last lines:\n${p.logs.slice(-6).join('\n').slice(-3000)}`);
    }
  } catch (e) {
    violations.push(`fault run aborted: ${(e as Error).stack ?? String(e)}`);
  } finally {
    await Promise.all(procs.map((p) => p.kill('SIGTERM').catch(() => null)));
    for (const v of new Set(procs.flatMap((p) => p.responseViolations()))) violations.push(`a response the OpenAPI document does not describe: ${v}`);
    if (dropDb) await dropDb().catch(() => undefined);
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    report.loadAverage = os.loadavg().map((x) => Math.round(x * 100) / 100);
  }
  return report;
}

/** Reads the run's own database (the SQLite file, or its PostgreSQL database), as an auditor would. */
async function readDb(target: { dataDir: string; databaseUrl: string | null }, q: string): Promise<Record<string, unknown>[]> {
  if (target.databaseUrl) {
    const c = new pg.Client({ connectionString: target.databaseUrl });
    await c.connect();
    try {
      return (await c.query(q)).rows;
    } finally {
      await c.end();
    }
  }
  const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(q).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

export function formatFaultReport(r: FaultReport): string {
  const s = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);
  return [
    `fault ${r.fault} (${r.mode}), outage ${s(r.outageMs)}`,
    `  jobs accepted ${r.jobs.accepted} (${Object.entries(r.jobs.byOperation).map(([k, v]) => `${v} ${k}`).join(', ')}), ${r.jobs.acknowledged} acknowledged; completed ${r.jobs.completed}, failed ${r.jobs.failed}, lost ${r.jobs.lost}; drained in ${s(r.drainMs)}`,
    `  provider calls ${r.providerCalls.total} for ${r.providerCalls.steps} images (${r.providerCalls.repeated} repeated); double charges ${r.doubleCharges}`,
    `  during the outage ${r.duringOutage.requests} requests: ${r.duringOutage.ok} ok, ${r.duringOutage.unavailable} × 503, ${r.duringOutage.other} other`,
    `  longest 503 window ${s(r.longest503WindowMs)}; recovery ${s(r.recoveryMs)} after the fault ended; slowest answer ${s(r.slowestRequestMs)}${r.redisKeysAfterRestart !== undefined ? `; rate-limit keys in the restarted Redis ${r.redisKeysAfterRestart}` : ''}`,
    `  requests ${Object.entries(r.requests).sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    `  load average ${r.loadAverage.join(' ')}; violations ${r.violations.length}`,
    ...r.violations.map((v) => `  ✗ ${v}`),
  ].join('\n');
}
