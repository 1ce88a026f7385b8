/**
 * Chaos run: a mixed workload against 2 API + 2 worker processes while random processes are
 * SIGKILLed at random moments (and workers, on some restarts, at named crash points between a side
 * effect and its record), then restarted. Afterwards it proves nothing was lost or doubled:
 *   - every job the system accepted reached a terminal state, and completed (none failed);
 *   - no step was generated twice (provider call log, one line per call, per prompt and seed):
 *     a repeat is allowed only when every earlier call was made by a process that was then killed;
 *   - every account's balance = grants − captures exactly, nothing left held (ledger audit);
 *   - every completed result downloads (each of its signed URLs answers 200 with bytes).
 *
 *   npm run chaos                                          embedded mode, 60 s
 *   EASEL_TEST_MODE=scaleout CHAOS_SECONDS=120 npm run chaos   scale-out (bash scripts/services.sh first)
 *   CHAOS_SEED=7 …                                         replays the kill schedule (timing still varies)
 *   npm run chaos -- --faults db,db-hang,s3,redis,disk,sqlite      dependency faults instead (scripts/fault-run.ts)
 *
 * Loopback only: every process listens on 127.0.0.1 and all traffic stays there.
 * Exits 1 on any violation. test/e2e/chaos.test.ts runs a CI-sized run through runChaos().
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import crypto from 'node:crypto';
import { EaselProcess, MODE, PG_ADMIN_URL, api, dropDatabase } from '../test/helpers/server.js';
import { auditLedger } from '../test/helpers/ledger.js';
import { FAULTS, FAULT_MODE, formatFaultReport, runFault, type FaultName, type FaultReport } from './fault-run.js';

export interface ChaosOptions {
  /** Length of the chaos phase (kills + workload). Default CHAOS_SECONDS or 60. */
  seconds?: number;
  seed?: number;
  /** Concurrent client loops. */
  clients?: number;
  /** How long to wait for the queue to drain after the chaos phase. */
  drainTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface ChaosReport {
  mode: string;
  seed: number;
  seconds: number;
  stories: boolean;
  kills: { worker: number; api: number; crashPoints: number; total: number };
  requests: Record<string, number>;
  jobs: { accepted: number; completed: number; failed: number; nonTerminal: number; byOperation: Record<string, number>; acknowledged: number };
  providerCalls: { total: number; steps: number; repeatedAfterKill: number };
  downloads: number;
  ledger: { accounts: number; grantsMicros: number; capturesMicros: number; availableMicros: number };
  drainMs: number;
  /** Wall time of each phase: start-up, chaos, waiting for clients and the queue, verification. */
  phasesMs: { setup: number; chaos: number; drain: number; verify: number };
  violations: string[];
}

const WORKER_CRASH_POINTS = [
  'after_provider_call',
  'after_raw_stored',
  'after_image_stored',
  'after_job_completed',
  'story_after_provider_call',
  'story_before_scene',
  'story_completed',
];
const ACCOUNTS = ['chaos-a', 'chaos-b', 'chaos-c'];
const CREDITS_EUR = '1000';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface JobRowLite {
  id: string;
  account_id: string;
  operation: string;
  status: string;
  error_code: string | null;
}

/** Reads the real database (SQLite file or PostgreSQL), as the auditor does. */
async function withDb<T>(target: EaselProcess, fn: (q: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>): Promise<T> {
  if (target.databaseUrl) {
    const c = new pg.Client({ connectionString: target.databaseUrl });
    await c.connect();
    try {
      return await fn(async (sql) => (await c.query(sql)).rows);
    } finally {
      await c.end();
    }
  }
  const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return await fn(async (sql) => db.prepare(sql).all() as Record<string, unknown>[]);
  } finally {
    db.close();
  }
}

/** Every absolute URL inside a result object (format files, scenes, references). */
function urlsIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') {
    if (/^https?:\/\//.test(v)) out.push(v);
  } else if (Array.isArray(v)) {
    for (const x of v) urlsIn(x, out);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) if (k === 'url' || k === 'reference_url' || typeof x === 'object') urlsIn(x, out);
  }
  return out;
}

async function mapLimit<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}

/** A fresh PostgreSQL database for the run (scale-out mode), dropped at the end. */
async function createDatabase(): Promise<string> {
  const name = `easel_chaos_${crypto.randomBytes(6).toString('hex')}`;
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Starts (or restarts) a process, up to 3 tries; a try that fails is killed, never left behind. */
async function bootWithRetry(p: EaselProcess, extraEnv: Record<string, string> = {}, onFailedPid?: (pid: number) => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await p.boot(extraEnv);
      return;
    } catch (e) {
      if (p.child?.pid) onFailedPid?.(p.child.pid);
      await p.kill('SIGKILL').catch(() => null);
      if (attempt >= 3) throw e;
    }
  }
}

export async function runChaos(opts: ChaosOptions = {}): Promise<ChaosReport> {
  const seconds = opts.seconds ?? Number(process.env.CHAOS_SECONDS ?? 60);
  const seed = opts.seed ?? (process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31));
  const clients = opts.clients ?? 6;
  const log = opts.log ?? ((l: string) => console.log(l));
  const rand = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const violations: string[] = [];
  const tag = `run${seed.toString(36)}`;

  const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-chaos-')), 'provider-calls.jsonl');
  const env: Record<string, string> = {
    EASEL_SKETCH_LATENCY_MS: '250',
    EASEL_LEASE_MS: '3000',
    EASEL_MAX_ATTEMPTS: '25',
    EASEL_RETRY_BASE_MS: '200',
    EASEL_MAX_CONCURRENT_JOBS: '1000',
    EASEL_WORKER_CONCURRENCY: '3',
    EASEL_RATE_LIMIT_PER_MIN: '0',
    EASEL_SHUTDOWN_GRACE_MS: '2000',
    EASEL_SYNC_TIMEOUT_S: '60',
    EASEL_PROVIDER_CALL_LOG: callLog,
    EASEL_CRASH_AT: '',
  };

  log(`chaos: mode ${MODE}, ${seconds} s, seed ${seed}, 2 API + 2 worker processes`);
  // Every process is built here (not through EaselProcess.start) so a handle exists even when a
  // start-up fails, and nothing is ever left running: the run ends by stopping each one.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-chaos-data-'));
  const databaseUrl = MODE === 'scaleout' ? await createDatabase() : null;
  const bucket = MODE === 'scaleout' ? `easel-chaos-${crypto.randomBytes(5).toString('hex')}` : null;
  type Proc = { p: EaselProcess; role: 'api' | 'worker'; name: string; restarting: boolean; armed: boolean };
  const make = (name: string, role: 'api' | 'worker'): Proc => {
    const p = new EaselProcess(dataDir, { ...env }, role === 'api' ? ['--no-worker'] : [], role === 'api' ? 'serve' : 'worker');
    p.databaseUrl = databaseUrl;
    p.bucket = bucket;
    return { p, role, name, restarting: false, armed: false };
  };
  const procs: Proc[] = [make('api1', 'api'), make('api2', 'api'), make('worker1', 'worker'), make('worker2', 'worker')];
  const api1 = procs[0]!.p;
  const deadPids = new Set<number>();
  const kills = { worker: 0, api: 0, crashPoints: 0, total: 0 };
  const requests: Record<string, number> = {};
  const acknowledged = new Map<string, string>(); // job id → operation, answered 200/202 to a client
  let downloads = 0;
  const out: ChaosReport = {
    mode: MODE,
    seed,
    seconds,
    stories: false,
    kills: { worker: 0, api: 0, crashPoints: 0, total: 0 },
    requests,
    jobs: { accepted: 0, completed: 0, failed: 0, nonTerminal: 0, byOperation: {}, acknowledged: 0 },
    providerCalls: { total: 0, steps: 0, repeatedAfterKill: 0 },
    downloads: 0,
    ledger: { accounts: ACCOUNTS.length, grantsMicros: 0, capturesMicros: 0, availableMicros: 0 },
    drainMs: 0,
    phasesMs: { setup: 0, chaos: 0, drain: 0, verify: 0 },
    violations,
  };
  let phaseStart = Date.now();
  const phase = (name: keyof ChaosReport['phasesMs']) => {
    out.phasesMs[name] = Date.now() - phaseStart;
    phaseStart = Date.now();
  };

  try {
    // One process first (it migrates the fresh database), then the others and the accounts.
    await bootWithRetry(procs[0]!.p);
    await Promise.all(procs.slice(1).map((x) => bootWithRetry(x.p)));
    const keys: string[] = [];
    for (const a of ACCOUNTS) keys.push(await api1.createKey(a, CREDITS_EUR));
    const doc = (await api(api1.baseUrl, 'GET', '/v1/openapi.json')).body;
    const stories = Boolean(doc.paths?.['/v1/generate/story']?.post);
    out.stories = stories;
    log(`workload: synchronous images${stories ? ' + stories (POST /v1/generate/story exists)' : ' only (no story endpoint)'}, ${clients} clients, ${ACCOUNTS.length} accounts`);

    const alive = (x: Proc) => !x.restarting && x.p.child !== null && x.p.child.exitCode === null && x.p.child.signalCode === null;
    const noteDeath = (x: Proc) => {
      if (x.p.child?.pid) deadPids.add(x.p.child.pid);
    };
    const boot = async (x: Proc, crashAt: string) => {
      x.restarting = true;
      x.armed = crashAt !== '';
      try {
        await bootWithRetry(x.p, { EASEL_CRASH_AT: crashAt }, (pid) => deadPids.add(pid));
      } catch (e) {
        violations.push(`${x.name} could not be restarted: ${(e as Error).message.split('\n')[0]}`);
      } finally {
        x.restarting = false;
      }
    };
    /** Restarts processes that died on their own (an armed crash point fired). */
    const revive = (disarm: boolean): Promise<void>[] => {
      const started: Promise<void>[] = [];
      for (const x of procs) {
        if (x.restarting || alive(x)) continue;
        noteDeath(x);
        if (x.armed) {
          kills.crashPoints++;
          kills.worker++;
          log(`  ${x.name} died at its armed crash point; restarting`);
        }
        started.push(boot(x, disarm || rand() < 0.6 ? '' : `${pick(WORKER_CRASH_POINTS)}:${1 + Math.floor(rand() * 3)}`));
      }
      return started;
    };

    phase('setup');

    // ---- the workload ------------------------------------------------------------------------
    const stopAt = Date.now() + seconds * 1000;
    let n = 0;
    const count = (k: string) => (requests[k] = (requests[k] ?? 0) + 1);
    const client = async (c: number) => {
      const crand = mulberry32(seed + 1000 + c);
      while (Date.now() < stopAt) {
        const apis = procs.filter((x) => x.role === 'api' && alive(x));
        if (apis.length === 0) {
          await sleep(100);
          continue;
        }
        const target = apis[Math.floor(crand() * apis.length)]!.p.baseUrl;
        const a = Math.floor(crand() * ACCOUNTS.length);
        const i = n++;
        const story = stories && crand() < 0.3;
        try {
          if (story) {
            const body = {
              characters: [{ name: 'Mira', appearance: `a lighthouse keeper with a green coat, ${tag} ${i}` }],
              scenes: [
                { prompt: `Mira climbs the stairs at dusk (${tag} ${i})`, characters: ['Mira'] },
                { prompt: `Mira lights the lamp (${tag} ${i})`, characters: ['Mira'] },
              ],
            };
            const r = await api(target, 'POST', '/v1/generate/story', { key: keys[a]!, body });
            count(`story ${r.status}`);
            if (r.status === 202) acknowledged.set(r.body.job_id, 'story');
          } else {
            const r = await api(target, 'POST', '/v1/generate/image', { key: keys[a]!, body: { prompt: `chaos ${tag} image ${i}` } });
            count(`image ${r.status}`);
            if (r.status === 200) acknowledged.set(r.body.id, 'image');
          }
        } catch {
          // The API process died under the request; the job, if accepted, carries on.
          count(`${story ? 'story' : 'image'} connection lost`);
        }
      }
    };

    // ---- the chaos ---------------------------------------------------------------------------
    const booting = new Set<Promise<void>>();
    const chaos = async () => {
      let k = 0;
      await sleep(1500);
      while (Date.now() < stopAt) {
        for (const b of revive(false)) booting.add(b);
        // First a worker, then an API process, then anything: every run kills both kinds.
        const role: 'api' | 'worker' = k === 0 ? 'worker' : k === 1 ? 'api' : rand() < 0.65 ? 'worker' : 'api';
        const candidates = procs.filter((x) => x.role === role && alive(x));
        // Keep at least one API process up, so clients always have somewhere to go.
        const apisUp = procs.filter((x) => x.role === 'api' && alive(x)).length;
        if (candidates.length > 0 && !(role === 'api' && apisUp < 2)) {
          const victim = pick(candidates);
          const pid = victim.p.child?.pid;
          noteDeath(victim);
          await victim.p.kill('SIGKILL');
          kills[role]++;
          k++;
          log(`kill ${k}: SIGKILL ${victim.name} (pid ${pid}) at ${((seconds * 1000 - (stopAt - Date.now())) / 1000).toFixed(1)} s`);
          const arm = role === 'worker' && rand() < 0.4 ? `${pick(WORKER_CRASH_POINTS)}:${1 + Math.floor(rand() * 3)}` : '';
          const delay = rand() * 400;
          victim.restarting = true;
          // The restart runs in the background: the next kill does not wait for it.
          booting.add(
            sleep(delay)
              .then(() => boot(victim, arm))
              .then(() => {
                if (arm) log(`  ${victim.name} restarted, armed to die at ${arm}`);
              }),
          );
        }
        await sleep(400 + rand() * 1000);
      }
      await Promise.all(booting);
    };

    let clientsDone = false;
    const clientRuns = Promise.all(Array.from({ length: clients }, (_, c) => client(c))).then(() => {
      clientsDone = true;
    });
    await chaos();
    phase('chaos');

    // ---- drain -------------------------------------------------------------------------------
    // Workers still armed are restarted disarmed, and anything that dies from here on is revived,
    // so clients still waiting on synchronous requests get their answers.
    for (const x of procs) {
      if (x.armed && alive(x)) {
        noteDeath(x);
        await x.p.kill('SIGKILL');
        kills.worker++;
        await boot(x, '');
      }
    }
    while (!clientsDone) {
      await Promise.all(revive(true));
      await Promise.race([clientRuns, sleep(250)]);
    }
    const t0 = Date.now();
    const drainTimeout = opts.drainTimeoutMs ?? 180_000;
    let open = -1;
    while (Date.now() - t0 < drainTimeout) {
      await Promise.all(revive(true));
      open = Number((await withDb(api1, (q) => q(`select count(*) as n from jobs where status in ('pending','processing')`)))[0]!.n);
      if (open === 0) break;
      await sleep(250);
    }
    out.drainMs = Date.now() - t0;
    log(`drained in ${(out.drainMs / 1000).toFixed(1)} s`);
    phase('drain');

    // ---- verification ------------------------------------------------------------------------
    const jobs = await withDb(api1, async (q) => (await q('select id, account_id, operation, status, error_code from jobs')) as unknown as JobRowLite[]);
    const byOperation: Record<string, number> = {};
    for (const j of jobs) byOperation[j.operation] = (byOperation[j.operation] ?? 0) + 1;
    const completed = jobs.filter((j) => j.status === 'completed');
    const failed = jobs.filter((j) => j.status === 'failed');
    const nonTerminal = jobs.filter((j) => j.status === 'pending' || j.status === 'processing');
    out.jobs = { accepted: jobs.length, completed: completed.length, failed: failed.length, nonTerminal: nonTerminal.length, byOperation, acknowledged: acknowledged.size };
    for (const j of nonTerminal) violations.push(`job ${j.id} (${j.operation}) is still ${j.status} after the drain`);
    for (const j of failed) violations.push(`job ${j.id} (${j.operation}) failed: ${j.error_code}`);
    const ids = new Set(jobs.map((j) => j.id));
    for (const [id, op] of acknowledged) if (!ids.has(id)) violations.push(`acknowledged ${op} job ${id} is missing`);

    // No step generated twice.
    const lines = fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').split('\n').filter(Boolean) : [];
    const calls = new Map<string, number[]>();
    for (const l of lines) {
      const c = JSON.parse(l) as { prompt: string; seed: number; pid: number };
      const k = `${c.prompt}\u0000${c.seed}`;
      calls.set(k, [...(calls.get(k) ?? []), c.pid]);
    }
    let repeatedAfterKill = 0;
    for (const [k, pids] of calls) {
      if (pids.length < 2) continue;
      const earlier = pids.slice(0, -1);
      if (earlier.every((p) => deadPids.has(p)) && new Set(pids).size === pids.length) repeatedAfterKill += pids.length - 1;
      else violations.push(`step generated ${pids.length} times (pids ${pids.join(', ')}; not every earlier caller was killed): ${k.split('\u0000')[0]!.slice(0, 80)}`);
    }
    out.providerCalls = { total: lines.length, steps: calls.size, repeatedAfterKill };

    // Ledger: balance = grants − captures exactly; nothing held.
    let grants = 0;
    let captures = 0;
    let available = 0;
    for (const name of ACCOUNTS) {
      const a = await auditLedger(api1, name);
      grants += a.grants;
      captures += a.captures;
      available += a.available;
      if (a.available !== a.grants - a.captures) violations.push(`${name}: balance ${a.available} ≠ grants ${a.grants} − captures ${a.captures}`);
      if (a.held !== 0) violations.push(`${name}: ${a.held} micro-EUR still held`);
      if (a.available !== a.ledgerAvailable || a.held !== a.ledgerHeld) violations.push(`${name}: running totals differ from the ledger rows`);
      for (const j of a.unbalancedTerminalJobs) violations.push(`${name}: terminal job ${j} has an unbalanced hold`);
      for (const j of a.chargeMismatches) violations.push(`${name}: job ${j} captured a different amount than it charged`);
    }
    out.ledger = { accounts: ACCOUNTS.length, grantsMicros: grants, capturesMicros: captures, availableMicros: available };

    // Every completed result downloads.
    const accountKey = new Map<string, string>();
    await withDb(api1, async (q) => {
      for (const r of await q(`select id, name from accounts`)) {
        const i = ACCOUNTS.indexOf(String(r.name));
        if (i >= 0) accountKey.set(String(r.id), keys[i]!);
      }
    });
    const live = procs.find((x) => x.role === 'api' && alive(x))!.p;
    await mapLimit(completed, 6, async (j) => {
      const view = await api(live.baseUrl, 'GET', `/v1/jobs/${j.id}`, { key: accountKey.get(j.account_id)! });
      const urls = urlsIn(view.body?.result);
      if (view.status !== 200 || urls.length === 0) {
        violations.push(`completed job ${j.id}: no downloadable result (${view.status})`);
        return;
      }
      for (const u of urls) {
        const r = await fetch(u);
        const bytes = Buffer.from(await r.arrayBuffer());
        downloads++;
        if (r.status !== 200 || bytes.length === 0) violations.push(`job ${j.id}: ${u.split('?')[0]} → ${r.status}`);
      }
    });
    out.downloads = downloads;
    phase('verify');
  } catch (e) {
    violations.push(`chaos run aborted: ${(e as Error).stack ?? String(e)}`);
  } finally {
    // SIGTERM (drained shutdown) for every process, then the run's database goes.
    await Promise.all(procs.map((x) => x.p.kill('SIGTERM').catch(() => null)));
    if (databaseUrl) await dropDatabase(databaseUrl).catch(() => undefined);
    // Under the test runner every process checked its answers against the OpenAPI document (test/helpers/server.ts).
    const undescribed = new Set(procs.flatMap((x) => x.p.responseViolations()));
    for (const v of undescribed) violations.push(`a response the OpenAPI document does not describe: ${v}`);
  }
  out.kills = { ...kills, total: kills.worker + kills.api };
  out.jobs.acknowledged = acknowledged.size;
  return out;
}

export function formatReport(r: ChaosReport): string {
  const rows = [
    `mode                 ${r.mode} (seed ${r.seed}, ${r.seconds} s of chaos${r.stories ? ', images + stories' : ', images only'})`,
    `kills survived       ${r.kills.total} (${r.kills.worker} worker, ${r.kills.api} API; ${r.kills.crashPoints} of the worker kills at named crash points)`,
    `jobs accepted        ${r.jobs.accepted} (${Object.entries(r.jobs.byOperation).map(([k, v]) => `${v} ${k}`).join(', ')}), ${r.jobs.acknowledged} acknowledged to clients`,
    `jobs completed       ${r.jobs.completed}; failed ${r.jobs.failed}; not terminal ${r.jobs.nonTerminal}; drained in ${(r.drainMs / 1000).toFixed(1)} s`,
    `requests             ${Object.entries(r.requests).map(([k, v]) => `${k}: ${v}`).join(', ')}`,
    `provider calls       ${r.providerCalls.total} for ${r.providerCalls.steps} steps; ${r.providerCalls.repeatedAfterKill} repeats, each after its caller was killed`,
    `ledger               ${r.ledger.accounts} accounts: grants ${r.ledger.grantsMicros} − captures ${r.ledger.capturesMicros} = balance ${r.ledger.availableMicros} micro-EUR`,
    `downloads checked    ${r.downloads}`,
    `phases               setup ${(r.phasesMs.setup / 1000).toFixed(1)} s, chaos ${(r.phasesMs.chaos / 1000).toFixed(1)} s, drain ${(r.phasesMs.drain / 1000).toFixed(1)} s, verify ${(r.phasesMs.verify / 1000).toFixed(1)} s`,
    `violations           ${r.violations.length}`,
    ...r.violations.map((v) => `  ✗ ${v}`),
  ];
  return rows.join('\n');
}

/** `--faults db,db-hang,s3,redis,disk,sqlite`: the dependency faults of scripts/fault-run.ts instead of the kills. */
function faultsArg(argv: string[]): FaultName[] | null {
  const i = argv.findIndex((a) => a === '--faults' || a.startsWith('--faults='));
  if (i < 0) return null;
  const list = (argv[i]!.includes('=') ? argv[i]!.split('=')[1]! : argv[i + 1] ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  const unknown = list.filter((f) => !FAULTS.includes(f as FaultName));
  if (list.length === 0 || unknown.length > 0) throw new Error(`--faults takes a comma-separated list of ${FAULTS.join(', ')}${unknown.length ? ` (not: ${unknown.join(', ')})` : ''}`);
  return list as FaultName[];
}

const isMain = process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url;
const faults = isMain ? faultsArg(process.argv.slice(2)) : null;
if (faults) {
  // Each fault runs in the mode it exists in (db, db-hang, s3: scale-out; disk, sqlite: embedded; redis: EASEL_TEST_MODE).
  const reports: FaultReport[] = [];
  for (const fault of faults) {
    const r = await runFault({ fault, mode: FAULT_MODE[fault] ?? MODE });
    reports.push(r);
    console.log(`\n${formatFaultReport(r)}`);
  }
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'chaos-faults.json'), JSON.stringify(reports, null, 2));
  process.exit(reports.every((r) => r.violations.length === 0) ? 0 : 1);
} else if (isMain) {
  const r = await runChaos();
  console.log(`\n${formatReport(r)}`);
  const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'test-artifacts');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `chaos-${r.mode}.json`), JSON.stringify(r, null, 2));
  process.exit(r.violations.length === 0 ? 0 : 1);
}
