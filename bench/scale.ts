/**
 * `npm run bench:scale` (issue 25): per-request costs at 10 000 and at 1 000 000 stored jobs, in one
 * mode per process (EASEL_TEST_MODE; the npm script runs both), each cost at 1 000 000 divided by
 * the same cost at 10 000 measured in the same run.
 *
 * What grows and what stays: the store grows around a fixed **probe account** (2 200 jobs of its own,
 * 4 400 ledger rows, 10 waiting) — 1 000 background accounts hold everything else, 10 % of it
 * waiting in the queue (1 000 pending at 10 000 stored, 100 000 at 1 000 000). So each row asks
 * "does one tenant's request, or an operator's scrape, cost more because the store holds a year of
 * everyone's traffic?" — the question a million-job store is about. (What grows with the tenant's
 * own history, `total` over its jobs and `offset` paging, is measured separately: SCALE_OWN.)
 *
 * Jobs are clones of one real job (its row, events and ledger rows) made by the running server,
 * inserted through the store's own row types (bench/scale/seed.ts). The server runs with
 * `--no-worker` while measuring, so the seeded queue stays as seeded.
 *
 *   SCALE_LARGE=1000000   jobs stored in the second phase (SCALE_SMALL=10000 in the first)
 *   SCALE_SAMPLES=300     timed requests per row and store, over SCALE_ROUNDS=4 rounds on fresh server pairs (10 warm-up requests each)
 *   SCALE_OUT=file        JSON rows (default test-artifacts/scale-<mode>.json)
 *   SCALE_KEEP=1          keep the populated store afterwards (for EXPLAIN): its data dir / database URL is printed
 * Loopback only; scale-out needs PostgreSQL and Swift (`bash scripts/services.sh`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { EaselProcess, MODE, api } from '../test/helpers/server.js';
import { openSqlite, type Db } from '../src/store/db.js';
import { openPostgres } from '../src/store/postgres.js';
import { SqlQueue } from '../src/queue/sql-queue.js';
import { newId } from '../src/util/ids.js';
import { createKey } from '../src/accounts/accounts.js';
import { foldSummaries } from '../src/store/summaries.js';
import { readTemplate, seedAccounts, seedJobs, settleAccountTotals, type SeedJob, type Template } from './scale/seed.js';
import { costOf, timeRequests, type Cost } from './scale/measure.js';
import { compactHotTables, copyPostgres, copySqlite, type StoreCopy } from './scale/snapshot.js';
import { dbBytes, migrationTime } from './scale/store-facts.js';

const SMALL = Number(process.env.SCALE_SMALL ?? 10_000);
const LARGE = Number(process.env.SCALE_LARGE ?? 1_000_000);
const SAMPLES = Number(process.env.SCALE_SAMPLES ?? 300);
const SCRAPES = Number(process.env.SCALE_SCRAPES ?? 8);
/** Alternating rounds per cost (small store first, then the large one first, …). */
const ROUNDS = Number(process.env.SCALE_ROUNDS ?? 4);
const OUT = path.resolve(process.env.SCALE_OUT ?? `test-artifacts/scale-${MODE}.json`);
const BG_ACCOUNTS = 1000;
const PROBE_JOBS = { completed: 2150, failed: 40, pending: 10 };

const log = (m: string) => console.log(`[scale ${MODE} ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function openDb(p: EaselProcess): Promise<Db> {
  return MODE === 'scaleout' ? openPostgres(p.databaseUrl!, 4).db : openSqlite(path.join(p.dataDir, 'easel.sqlite'));
}

/** Background jobs up to `target` stored, oldest first over the past year, 10 % waiting. */
async function seedBackground(db: Db, t: Template, accounts: string[], from: number, target: number, now: number): Promise<void> {
  const span = 365 * 86_400_000;
  const per = 10_000;
  for (let i = from; i < target; i += per) {
    const batch: SeedJob[] = [];
    for (let k = i; k < Math.min(target, i + per); k++) {
      // Spread over the year in insertion order; the last 10 % of each chunk waits in the queue.
      const at = now - span + Math.floor((k / LARGE) * (span - 3_600_000));
      const status = k % 10 === 9 ? 'pending' : k % 50 === 7 ? 'failed' : 'completed';
      // One background account in ten jobs is the heavy tenant (accounts[0]): its history grows with the store.
      const accountId = k % 10 === 5 ? accounts[0]! : accounts[1 + (k % (accounts.length - 1))]!;
      batch.push({ accountId, status, at, metadata: k % 3 === 0 ? { customer: `c${k % 97}` } : undefined });
    }
    await seedJobs(db, t, batch);
    if ((i / per) % 20 === 0) log(`seeded ${Math.min(target, i + per)} background jobs`);
  }
}

/** One per-request cost: a path on either store (a cursor differs between them), with a key. */
interface Plan {
  id: string;
  key: string;
  path: (store: 'small' | 'large') => string;
}

/** The rows every phase measures: the probe tenant's, then the heavy tenant's (see the file's comment). */
function plans(key: string, heavyKey: string, probe: { pending: string; completed: string }, operation: string, cursors: Record<'small' | 'large', { probe100: string | null; heavy30: string | null }>): Plan[] {
  const at = (id: string, k: string, path: string): Plan => ({ id, key: k, path: () => path });
  const out: Plan[] = [
    at('poll_pending', key, `/v1/jobs/${probe.pending}`),
    at('poll_completed', key, `/v1/jobs/${probe.completed}`),
    at('list_first', key, '/v1/jobs?limit=20'),
    at('list_page100', key, '/v1/jobs?limit=20&offset=1980'),
    at('list_status_first', key, '/v1/jobs?limit=20&status=completed'),
    at('list_status_page100', key, '/v1/jobs?limit=20&offset=1980&status=completed'),
    at('list_operation_first', key, `/v1/jobs?limit=20&operation=${operation}`),
    at('list_operation_page100', key, `/v1/jobs?limit=20&offset=1980&operation=${operation}`),
    at('list_metadata_first', key, '/v1/jobs?limit=20&metadata%5Bcustomer%5D=acme'),
    at('list_metadata_page100', key, '/v1/jobs?limit=20&offset=1980&metadata%5Bcustomer%5D=acme'),
    at('ledger_first', key, '/v1/account/ledger?limit=20'),
    at('ledger_page100', key, '/v1/account/ledger?limit=20&offset=1980'),
    at('profile_usage', key, '/v1/account/profile'),
    // The heavy tenant: a tenth of the store is its own (1 000 jobs at 10 000 stored, 100 000 at
    // 1 000 000). What must stay flat for it too: the first page (its total from the summaries), a
    // deep page by cursor, the ledger's first page, its usage; what cannot (documented): `offset`
    // deep pages and totals under time or metadata filters, which count its matching rows.
    at('heavy.list_first', heavyKey, '/v1/jobs?limit=20'),
    at('heavy.list_status_first', heavyKey, '/v1/jobs?limit=20&status=completed'),
    at('heavy.ledger_first', heavyKey, '/v1/account/ledger?limit=20'),
    at('heavy.profile_usage', heavyKey, '/v1/account/profile'),
  ];
  // Cursor rows only where the build pages by cursor (a row needs both stores).
  if (cursors.small.probe100 && cursors.large.probe100) out.push({ id: 'list_page100_cursor', key, path: (w) => `/v1/jobs?limit=20&starting_after=${cursors[w].probe100}` });
  // Page 30 of the heavy tenant: past 580 of its jobs, which it has in both stores (≥ 780 at 10 000 stored).
  if (cursors.small.heavy30 && cursors.large.heavy30) out.push({ id: 'heavy.list_page30_cursor', key: heavyKey, path: (w) => `/v1/jobs?limit=20&starting_after=${cursors[w].heavy30}` });
  return out;
}

/**
 * Every plan on both stores in ROUNDS rounds, each round on a fresh pair of servers (one per store),
 * the order alternating (small first, then large first, …): the machine's drift and one server
 * process's luck (its JIT, its heap) fall on both stores alike. Each store's samples of all rounds
 * give its median.
 */
async function measurePaired(start: () => Promise<{ base: Record<'small' | 'large', string>; stop: () => Promise<void> }>, planFor: (base: Record<'small' | 'large', string>) => Promise<Plan[]>): Promise<Record<'small' | 'large', Record<string, Cost>>> {
  const times: Record<'small' | 'large', Map<string, number[]>> = { small: new Map(), large: new Map() };
  const per = Math.max(1, Math.round(SAMPLES / ROUNDS));
  const scrapesPer = Math.max(1, Math.round(SCRAPES / ROUNDS));
  let all: Plan[] | null = null;
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const);
    const { base, stop } = await start();
    try {
      all ??= await planFor(base);
      for (const plan of all) {
        for (const w of order) {
          const got = (await timeRequests(`${base[w]}${plan.path(w)}`, { authorization: `Bearer ${plan.key}` }, per, 10)).times!;
          times[w].set(plan.id, [...(times[w].get(plan.id) ?? []), ...got]);
        }
      }
      // /metrics keeps what it read for 5 s: both servers' caches expire together, each scrape is cold
      // (the first of each round, the new process's first, is not timed).
      for (let i = 0; i <= scrapesPer; i++) {
        await new Promise((res) => setTimeout(res, 5_100));
        for (const w of order) {
          const t0 = performance.now();
          const res = await fetch(`${base[w]}/metrics`);
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`/metrics → ${res.status}`);
          if (i > 0) times[w].set('metrics', [...(times[w].get('metrics') ?? []), performance.now() - t0]);
        }
      }
    } finally {
      await stop();
    }
  }
  const out: Record<'small' | 'large', Record<string, Cost>> = { small: {}, large: {} };
  for (const w of ['small', 'large'] as const) for (const [id, t] of times[w]) out[w][id] = costOf(t);
  return out;
}

/**
 * Claims through the queue's own code on each populated store, in alternating rounds; each claim's
 * task is completed and replaced outside the timing.
 */
async function measureClaimsPaired(dbs: Record<'small' | 'large', Db>): Promise<Record<'small' | 'large', Cost>> {
  const queue = (db: Db) => new SqlQueue(db, { maxRunning: 1_000_000, maxAttempts: 5, agingMs: 300_000, dispatch: 'fair', dialect: MODE === 'scaleout' ? 'postgres' : 'sqlite' });
  const qs = { small: queue(dbs.small), large: queue(dbs.large) };
  const times: Record<'small' | 'large', number[]> = { small: [], large: [] };
  const per = Math.max(1, Math.round(SAMPLES / ROUNDS));
  for (let r = 0; r < ROUNDS; r++) {
    for (const w of r % 2 === 0 ? (['small', 'large'] as const) : (['large', 'small'] as const)) {
      const q = qs[w];
      for (let i = 0; i < per + 10; i++) {
        const t0 = performance.now();
        const t = await q.claim('bench-scale', 600_000);
        const ms = performance.now() - t0;
        if (!t) throw new Error('claim returned nothing');
        if (i >= 10) times[w].push(ms);
        await dbs[w].transaction().execute(async (trx) => {
          await q.complete(trx, t.jobId);
          await q.enqueue(trx, { jobId: newId(), accountId: t.accountId, priority: 'normal', createdAt: Date.now(), cost: 1 });
        });
      }
    }
  }
  return { small: costOf(times.small), large: costOf(times.large) };
}

async function cursorAt(base: string, key: string, page: number): Promise<string | null> {
  let after: string | null = null;
  for (let i = 1; i < page; i++) {
    const r: { status: number; body: unknown } = await api(base, 'GET', `/v1/jobs?limit=20${after ? `&starting_after=${after}` : ''}`, { key });
    if (r.status !== 200) return null; // no cursor pagination in this build
    after = (r.body as { next_cursor?: string | null }).next_cursor ?? null;
    if (!after) return null;
  }
  return after;
}

async function main(): Promise<void> {
  const started = new Date();
  const load = os.loadavg();
  log(`load ${load.map((l) => l.toFixed(2)).join(' ')}; ${SMALL} → ${LARGE} stored jobs`);
  // Phase 0: one real job, made by the server with its workers, is the template of every seeded job.
  const p = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '0' } });
  let db: Db | null = null;
  try {
    const key = await p.createKey('probe', '100000');
    const made = await api(p.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse at dusk', metadata: { customer: 'acme' } } });
    if (made.status !== 200 || !(made.body as { formats?: unknown }).formats) throw new Error(`template job: ${made.status} ${JSON.stringify(made.body)}`);
    const templateId = (made.body as { id: string }).id;
    await p.kill('SIGTERM');
    db = await openDb(p);
    const t = await readTemplate(db, templateId);
    const account = { id: t.job.account_id };
    const now = Date.now();

    // The probe's own history: fixed for the whole run.
    const probeJobs: SeedJob[] = [];
    const probeTotal = PROBE_JOBS.completed + PROBE_JOBS.failed + PROBE_JOBS.pending;
    for (let k = 0; k < probeTotal; k++) {
      const status = k >= probeTotal - PROBE_JOBS.pending ? 'pending' : k % 55 === 3 ? 'failed' : 'completed';
      probeJobs.push({ accountId: account.id, status, at: now - 86_400_000 + k * 1000, metadata: { customer: 'acme' } });
    }
    const probeIds = await seedJobs(db, t, probeJobs);
    const probe = { pending: probeIds[probeIds.length - 1]!, completed: probeIds[probeIds.length - PROBE_JOBS.pending - 1]! };
    const bg = await seedAccounts(db, BG_ACCOUNTS);
    const heavyKey = (await createKey(db, { name: 'heavy', account: 'bg-0' })).key;
    let seedSeconds = { small: 0, large: 0 };

    const phase = async (target: number) => {
      const stored = Number((await db!.selectFrom('jobs').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow()).n);
      const t0 = performance.now();
      await seedBackground(db!, t, bg, stored, target, now);
      await settleAccountTotals(db!);
      await compactHotTables(db!, MODE === 'scaleout');
      // A live store folds its summaries' deltas at every scrape and sweep; the seed's millions are
      // folded once here (and vacuumed away below), as a live store would have done along the way.
      await foldSummaries(db!);
      if (MODE === 'scaleout') await sql`vacuum analyze`.execute(db!);
      else await sql`analyze`.execute(db!);
      const seedS = (performance.now() - t0) / 1000;
      log(`phase ${target}: seeded in ${seedS.toFixed(0)} s`);
      return seedS;
    };

    const smallSeedS = await phase(SMALL);
    // The small store is kept as it is now, beside the one that grows (bench/scale/snapshot.ts).
    let copy: StoreCopy;
    if (MODE === 'scaleout') {
      await db.destroy();
      db = null;
      copy = await copyPostgres(p.databaseUrl!);
      db = await openDb(p);
    } else copy = await copySqlite(db, p.dataDir);
    let small: Record<string, Cost>;
    let large: Record<string, Cost>;
    let smallDb: Db | null = null;
    let migration: { ms: number; migrations: string[]; smallMs: number };
    const servers: EaselProcess[] = [];
    try {
      const smallMigration = await migrationTime(db);
      const largeSeedS = await phase(LARGE);
      seedSeconds = { small: smallSeedS, large: largeSeedS };
      migration = { ...(await migrationTime(db)), smallMs: smallMigration.ms };
      log(`measuring both stores in ${ROUNDS} rounds, each on a fresh pair of servers`);
      // `--no-worker`: measuring, nobody claims the seeded queue.
      const startPair = async () => {
        const smallSrv = await EaselProcess.start(
          MODE === 'scaleout' ? { sharedWith: p, args: ['--no-worker'], env: { EASEL_DATABASE_URL: copy.databaseUrl! } } : { dataDir: copy.dataDir!, args: ['--no-worker'] },
        );
        servers.push(smallSrv);
        const largeSrv = await EaselProcess.start({ sharedWith: p, args: ['--no-worker'] });
        servers.push(largeSrv);
        return {
          base: { small: smallSrv.baseUrl, large: largeSrv.baseUrl },
          stop: async () => {
            for (const srv of servers.splice(0)) await srv.kill('SIGTERM');
          },
        };
      };
      const planFor = async (base: Record<'small' | 'large', string>) =>
        plans(key, heavyKey, probe, t.job.operation, {
          small: { probe100: await cursorAt(base.small, key, 100), heavy30: await cursorAt(base.small, heavyKey, 30) },
          large: { probe100: await cursorAt(base.large, key, 100), heavy30: await cursorAt(base.large, heavyKey, 30) },
        });
      ({ small, large } = await measurePaired(startPair, planFor));
      smallDb = MODE === 'scaleout' ? openPostgres(copy.databaseUrl!, 4).db : openSqlite(path.join(copy.dataDir!, 'easel.sqlite'));
      const claims = await measureClaimsPaired({ small: smallDb, large: db });
      small.claim = claims.small;
      large.claim = claims.large;
    } finally {
      for (const srv of servers) await srv.kill('SIGTERM');
      await smallDb?.destroy();
      await copy.drop();
    }
    const bytes = await dbBytes(db, MODE, p.dataDir);

    // A row needs both phases (a cursor row is absent when the build has no cursor pagination).
    const rows = Object.keys(large).filter((id) => small[id] !== undefined).map((id) => ({
      id: `scale.${id}`,
      mode: MODE,
      stored: LARGE,
      value: round(large[id]!.medianMs),
      unit: 'ms',
      anchor: round(small[id]!.medianMs),
      anchor_stored: SMALL,
      ratio: round(large[id]!.medianMs / small[id]!.medianMs),
      target: id === 'metrics' ? '≤ 1.25 and ≤ 50 ms' : '≤ 1.25',
      met: large[id]!.medianMs / small[id]!.medianMs <= 1.25 && (id !== 'metrics' || large[id]!.medianMs <= 50),
      p95: { [SMALL]: round(small[id]!.p95Ms), [LARGE]: round(large[id]!.p95Ms) },
    }));
    rows.push(
      { id: 'scale.migration', mode: MODE, stored: LARGE, value: round(migration.ms), unit: 'ms', anchor: round(migration.smallMs ?? 0), anchor_stored: SMALL, ratio: null as unknown as number, target: '—', met: null as unknown as boolean, p95: {} },
      { id: 'scale.db_bytes_per_job', mode: MODE, stored: LARGE, value: Math.round(bytes / (LARGE + probeTotal + 1)), unit: 'bytes', anchor: 0, anchor_stored: SMALL, ratio: null as unknown as number, target: '—', met: null as unknown as boolean, p95: {} },
    );
    const result = { mode: MODE, startedAt: started.toISOString(), loadAvg: load, small: SMALL, large: LARGE, seedSeconds, rounds: ROUNDS, migration, dbBytes: bytes, rows };
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(result, null, 2));
    for (const r of rows) log(`${r.id.padEnd(32)} ${String(r.anchor).padStart(8)} → ${String(r.value).padStart(8)} ${r.unit}  ratio ${r.ratio ?? '—'}  ${r.met === null ? '' : r.met ? 'met' : 'NOT MET'}`);
    log(`wrote ${OUT}`);
  } finally {
    await db?.destroy();
    if (process.env.SCALE_KEEP === '1') {
      await p.kill('SIGTERM');
      log(`kept the store: ${MODE === 'embedded' ? path.join(p.dataDir, 'easel.sqlite') : p.databaseUrl}`);
    } else {
      await p.stop().catch(() => undefined);
      if (MODE === 'embedded') fs.rmSync(p.dataDir, { recursive: true, force: true });
    }
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

await main();
