import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { queryDb } from '../helpers/store-snapshot.js';

/**
 * Fair dispatch end to end (issue 18): real server processes on the mode's real store, over HTTP.
 * The API runs without workers (`--no-worker`) and the workers are `easel worker` processes beside
 * it (2 processes × 2 slots where fairness between accounts is measured; 1 process × 1 slot where
 * an exact start order is compared with the positions the API showed, since only one claimer
 * gives one order). Start times are read in ms from the store (the job view gives seconds).
 * Nothing here asserts a duration: orders and counts only.
 */
type Proc = EaselProcess;
/** A 21:9 image has about half the pixels of a square one: less rendering CPU on a shared machine. */
const BODY = { aspect_ratio: '21:9' };

async function startApi(env: Record<string, string>): Promise<Proc> {
  return EaselProcess.start({ env, args: ['--no-worker'] });
}
async function startWorkers(apiProc: Proc, n: number, env: Record<string, string>): Promise<Proc[]> {
  const out: Proc[] = [];
  for (let i = 0; i < n; i++) out.push(await EaselProcess.start({ env, command: 'worker', sharedWith: apiProc }));
  return out;
}
async function stopAll(procs: Proc[]): Promise<void> {
  for (const p of [...procs].reverse()) await p.stop();
}

/** An async create (Prefer: wait=0 answers 202 at once); returns the job id. */
async function submit(apiProc: Proc, key: string, tag: string, priority?: 'low' | 'normal' | 'high'): Promise<string> {
  const r = await api(apiProc.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `fair ${tag}`, ...BODY, ...(priority ? { priority } : {}) }, headers: { prefer: 'wait=0' } });
  assert.equal(r.status, 202, r.text);
  return r.body.job_id as string;
}
/** `n` submits, `parallel` at a time, in order of their index within each lane. */
async function submitMany(apiProc: Proc, key: string, tag: string, n: number, parallel = 8): Promise<string[]> {
  const ids: string[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      for (let i = next++; i < n; i = next++) ids[i] = await submit(apiProc, key, `${tag} ${i}`);
    }),
  );
  return ids;
}

async function accountId(apiProc: Proc, name: string): Promise<string> {
  const rows = await queryDb(apiProc, 'select id from accounts where name = $1', [name]);
  return String(rows[0]!.id);
}

interface Started {
  id: string;
  account_id: string;
  started_at: number;
  completed_at: number | null;
}
/** Jobs that have started, in start order (ms from the store). */
async function startOrder(apiProc: Proc): Promise<Started[]> {
  const rows = await queryDb(apiProc, 'select id, account_id, started_at, completed_at from jobs where started_at is not null order by started_at, id');
  return rows.map((r) => ({ id: String(r.id), account_id: String(r.account_id), started_at: Number(r.started_at), completed_at: r.completed_at == null ? null : Number(r.completed_at) }));
}

async function cli(apiProc: Proc, args: string[]): Promise<string> {
  const r = await apiProc.cli(args);
  assert.equal(r.code, 0, `easel ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
async function accountsList(apiProc: Proc): Promise<Map<string, Record<string, unknown>>> {
  const rows = JSON.parse(await cli(apiProc, ['accounts', 'list', '--json'])) as Record<string, unknown>[];
  return new Map(rows.map((r) => [String(r.account), r]));
}

/**
 * Pauses every worker process (SIGSTOP) at a moment when none is inside a transaction, so the API
 * keeps answering and the store is not locked by a paused process; `thaw` resumes them.
 */
async function freeze(apiProc: Proc, workers: Proc[]): Promise<() => void> {
  const signal = (s: NodeJS.Signals) => workers.forEach((w) => w.child!.kill(s));
  for (let attempt = 0; attempt < 50; attempt++) {
    signal('SIGSTOP');
    await new Promise((r) => setTimeout(r, 30));
    if (await storeIdle(apiProc)) return () => signal('SIGCONT');
    signal('SIGCONT');
    await new Promise((r) => setTimeout(r, 20 + attempt * 5));
  }
  throw new Error('the workers never paused outside a transaction');
}
async function storeIdle(apiProc: Proc): Promise<boolean> {
  if (apiProc.databaseUrl) {
    const busy = await queryDb(apiProc, "select count(*) as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid() and xact_start is not null");
    return Number(busy[0]!.n) === 0;
  }
  // SQLite: a write transaction can begin (no paused process holds the write lock).
  const db = new SQLite(path.join(apiProc.dataDir, 'easel.sqlite'), { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 200');
    db.exec('begin immediate');
    db.exec('rollback');
    return true;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** 2 worker processes × 2 slots; the running limit (4) does not decide alone. */
const FAIR_ENV = { EASEL_SKETCH_LATENCY_MS: '100', EASEL_WORKER_CONCURRENCY: '2', EASEL_MAX_CONCURRENT_JOBS: '4' };

describe(`fair dispatch across accounts, end to end (${MODE}: API + 2 worker processes)`, () => {
  it("A queues 200 jobs, then B and C submit 5 each → every B and C job starts before A's 15th", { timeout: 120_000 }, async () => {
    // Slower jobs here: A's first starts are still running when the workers are paused for B and C to arrive.
    const env = { ...FAIR_ENV, EASEL_SKETCH_LATENCY_MS: '600' };
    const apiProc = await startApi(env);
    const procs: Proc[] = [apiProc];
    try {
      const [ka, kb, kc] = [await apiProc.createKey('nc-a', '10'), await apiProc.createKey('nc-b', '10'), await apiProc.createKey('nc-c', '10')];
      const [a, b, c] = [await accountId(apiProc, 'nc-a'), await accountId(apiProc, 'nc-b'), await accountId(apiProc, 'nc-c')];
      await submitMany(apiProc, ka, 'a', 200);
      const workers = await startWorkers(apiProc, 2, env);
      procs.push(...workers);
      // A's work fills the slots; B and C arrive then (the workers paused meanwhile, so "then" is exact).
      await waitFor(async () => (await startOrder(apiProc)).length >= 4, 30_000, 10);
      const thaw = await freeze(apiProc, workers);
      const aBefore = (await startOrder(apiProc)).length;
      let bc: string[];
      try {
        bc = [...(await Promise.all([submitMany(apiProc, kb, 'b', 5, 5), submitMany(apiProc, kc, 'c', 5, 5)])).flat()];
      } finally {
        thaw();
      }
      const order = await waitFor(async () => {
        const o = await startOrder(apiProc);
        return bc.every((id) => o.some((s) => s.id === id)) ? o : null;
      }, 60_000, 50);
      const aStarts = order.filter((s) => s.account_id === a);
      const a15 = aStarts[14]?.started_at ?? Infinity;
      const late = order.filter((s) => (s.account_id === b || s.account_id === c) && !(s.started_at < a15));
      assert.deepEqual(
        late.map((s) => s.id),
        [],
        `A had ${aBefore} started when B and C submitted; start order: ${order.slice(0, 30).map((s) => (s.account_id === a ? 'A' : s.account_id === b ? 'B' : 'C')).join('')}`,
      );
    } finally {
      await stopAll(procs);
    }
  });

  it('weights 2:1 between two backlogged accounts → completed shares 2:1 within ±10 %', { timeout: 180_000 }, async () => {
    const apiProc = await startApi(FAIR_ENV);
    const procs: Proc[] = [apiProc];
    try {
      const [kx, ky] = [await apiProc.createKey('w-x', '10'), await apiProc.createKey('w-y', '10')];
      assert.match(await cli(apiProc, ['accounts', 'set', 'w-x', '--weight', '2']), /weight 2/);
      const [x, y] = [await accountId(apiProc, 'w-x'), await accountId(apiProc, 'w-y')];
      const N = 120;
      await Promise.all([submitMany(apiProc, kx, 'x', N, 4), submitMany(apiProc, ky, 'y', N, 4)]);
      procs.push(...(await startWorkers(apiProc, 2, FAIR_ENV)));
      // The window: completions #10 to #130, both accounts backlogged throughout (X, at 2/3, would run out near #180).
      const [from, to] = [10, 130];
      const done = await waitFor(async () => {
        const rows = await queryDb(apiProc, 'select account_id, completed_at from jobs where completed_at is not null order by completed_at, id');
        return rows.length >= to ? rows.map((r) => ({ account: String(r.account_id), at: Number(r.completed_at) })) : null;
      }, 150_000, 200);
      const window = done.slice(from, to);
      const nx = window.filter((d) => d.account === x).length;
      const ny = window.filter((d) => d.account === y).length;
      const end = window[window.length - 1]!.at;
      // Both still had jobs waiting when the window closed.
      const waiting = await queryDb(apiProc, 'select account_id, count(*) as n from jobs where started_at is null or started_at > $1 group by account_id', [end]);
      const still = new Map(waiting.map((r) => [String(r.account_id), Number(r.n)]));
      assert.ok((still.get(x) ?? 0) > 0 && (still.get(y) ?? 0) > 0, `both backlogged at the window's end: ${JSON.stringify([...still])}`);
      const ratio = nx / ny;
      assert.ok(ratio >= 1.8 && ratio <= 2.2, `X (weight 2) completed ${nx}, Y (weight 1) ${ny} of ${window.length}: ratio ${ratio.toFixed(3)}`);
    } finally {
      await stopAll(procs);
    }
  });

  it('within one account: high before normal before low (submitted while its running limit is full); the job view shows priority; accounts list shows running and queued', { timeout: 120_000 }, async () => {
    const env = { ...FAIR_ENV, EASEL_MAX_CONCURRENT_JOBS: '1' };
    const apiProc = await startApi(env);
    const procs: Proc[] = [apiProc];
    try {
      const key = await apiProc.createKey('prio', '10');
      const workers = await startWorkers(apiProc, 2, env);
      procs.push(...workers);
      const blocker = await submit(apiProc, key, 'blocker');
      await waitFor(async () => (await startOrder(apiProc)).some((s) => s.id === blocker), 30_000, 10);
      const thaw = await freeze(apiProc, workers);
      const ids: Record<string, string> = {};
      try {
        for (const [name, p] of [['low1', 'low'], ['normal1', undefined], ['high1', 'high'], ['low2', 'low'], ['normal2', 'normal'], ['high2', 'high']] as const) {
          ids[name] = await submit(apiProc, key, name, p);
        }
        for (const [name, id] of Object.entries(ids)) {
          const view = (await api(apiProc.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
          assert.equal(view.status, 'pending');
          assert.equal(view.priority, name.replace(/\d$/, ''), `${name}: the job view shows its priority`);
        }
        const row = (await accountsList(apiProc)).get('prio')!;
        assert.equal(row.running, 1, JSON.stringify(row));
        assert.equal(row.queued, 6);
        assert.equal(row.weight, 1);
        const prof = (await api(apiProc.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.scheduling;
        assert.deepEqual(prof, { weight: 1, max_running_jobs: 1, max_queued_jobs: 1000, running: 1, queued: 6 });
      } finally {
        thaw();
      }
      const order = await waitFor(async () => {
        const o = await startOrder(apiProc);
        return o.length === 7 ? o : null;
      }, 60_000, 50);
      const name = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
      assert.deepEqual(order.map((s) => name.get(s.id) ?? 'blocker'), ['blocker', 'high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
    } finally {
      await stopAll(procs);
    }
  });
});

/** One worker process with one slot: exactly one order of starts, to compare with the positions shown. */
const ONE_SLOT = { EASEL_SKETCH_LATENCY_MS: '30', EASEL_WORKER_CONCURRENCY: '1', EASEL_METRICS_PORT: '0' };

describe(`queue position, restart, spending caps, operator views (${MODE}: API + 1 worker process)`, () => {
  /** Jobs of 3 accounts (weights 1, 2, 1; one high-priority job), all waiting; their positions as GET /v1/jobs/{id} shows them. */
  async function queueMixed(apiProc: Proc, tag: string) {
    const keys = [await apiProc.createKey(`${tag}-1`, '10'), await apiProc.createKey(`${tag}-2`, '10'), await apiProc.createKey(`${tag}-3`, '10')];
    await cli(apiProc, ['accounts', 'set', `${tag}-2`, '--weight', '2']);
    const jobs: { id: string; key: string }[] = [];
    for (const [k, n] of [[0, 4], [1, 5], [2, 2]] as const) for (const id of await submitMany(apiProc, keys[k]!, `${tag} ${k}`, n, 1)) jobs.push({ id, key: keys[k]! });
    jobs.push({ id: await submit(apiProc, keys[0]!, `${tag} urgent`, 'high'), key: keys[0]! });
    return { keys, jobs };
  }
  async function positions(apiProc: Proc, jobs: { id: string; key: string }[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const j of jobs) {
      const v = (await api(apiProc.baseUrl, 'GET', `/v1/jobs/${j.id}`, { key: j.key })).body;
      assert.equal(v.status, 'pending');
      out.set(j.id, v.queue_position);
    }
    return out;
  }
  async function runAll(apiProc: Proc, ids: string[]): Promise<{ order: string[]; worker: Proc }> {
    const [worker] = await startWorkers(apiProc, 1, ONE_SLOT);
    const order = await waitFor(async () => {
      const o = (await startOrder(apiProc)).filter((s) => ids.includes(s.id));
      return o.length === ids.length && o.every((s) => s.completed_at !== null) ? o.map((s) => s.id) : null;
    }, 60_000, 100);
    return { order, worker: worker! };
  }
  const metric = (text: string, name: string, labels: string) => {
    const m = new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : null;
  };

  it('queue_position on GET /v1/jobs/{id} = 1 + the jobs that actually start before it; /metrics shows depth by weight and wait time; accounts list shows weight and queued', { timeout: 120_000 }, async () => {
    const apiProc = await startApi(ONE_SLOT);
    const procs: Proc[] = [apiProc];
    try {
      const { jobs } = await queueMixed(apiProc, 'qp');
      const shown = await positions(apiProc, jobs);
      assert.deepEqual([...shown.values()].sort((p, q) => p - q), jobs.map((_, i) => i + 1), 'positions 1…n, each once');

      const list = await accountsList(apiProc);
      assert.deepEqual(['qp-1', 'qp-2', 'qp-3'].map((n) => [list.get(n)!.weight, list.get(n)!.queued, list.get(n)!.running]), [[1, 5, 0], [2, 5, 0], [1, 2, 0]]);
      const m = (await api(apiProc.baseUrl, 'GET', '/metrics')).text;
      assert.equal(metric(m, 'easel_queue_depth_by_weight', 'weight="1"'), 7);
      assert.equal(metric(m, 'easel_queue_depth_by_weight', 'weight="2"'), 5);
      assert.equal(metric(m, 'easel_queue_accounts_waiting', 'weight="1"'), 2);

      const { order, worker } = await runAll(apiProc, jobs.map((j) => j.id));
      procs.push(worker);
      assert.deepEqual(
        order.map((id) => shown.get(id)),
        order.map((_, i) => i + 1),
        'the job that started n-th had been shown queue_position n',
      );
      // The worker observed each job's wait, by its account's weight class.
      const url = worker.logs.map((l) => /"metrics_url":"([^"]+)"/.exec(l)?.[1]).find(Boolean)!;
      const wm = await (await fetch(url)).text();
      assert.equal(metric(wm, 'easel_queue_wait_seconds_count', 'weight="1"'), 7);
      assert.equal(metric(wm, 'easel_queue_wait_seconds_count', 'weight="2"'), 5);
      assert.match(wm, /^easel_queue_wait_seconds_bucket\{le="\+Inf",weight="2"\} 5$/m);
    } finally {
      await stopAll(procs);
    }
  });

  it('a restart keeps every queue and its order: start order after it = the queue_position order before it', { timeout: 120_000 }, async () => {
    const apiProc = await startApi(ONE_SLOT);
    const procs: Proc[] = [apiProc];
    try {
      const { jobs } = await queueMixed(apiProc, 'rs');
      const before = await positions(apiProc, jobs);
      await apiProc.kill('SIGTERM');
      await apiProc.boot();
      assert.deepEqual(await positions(apiProc, jobs), before, 'the same positions after the restart');
      const { order, worker } = await runAll(apiProc, jobs.map((j) => j.id));
      procs.push(worker);
      assert.deepEqual(order.map((id) => before.get(id)), order.map((_, i) => i + 1));
    } finally {
      await stopAll(procs);
    }
  });

  it('a daily cap over HTTP: 50 racing submits → exactly floor(cap / price) accepted, the rest 402 spending_cap_reached with resets_at; the profile and accounts list show it', { timeout: 120_000 }, async () => {
    const apiProc = await startApi(ONE_SLOT);
    const procs: Proc[] = [apiProc];
    try {
      const key = await apiProc.createKey('capped', '10');
      // 0.110 EUR at the default 0.020 per image: 5 fit, the 6th would pass it.
      assert.match(await cli(apiProc, ['accounts', 'set', 'capped', '--daily-cap-eur', '0.11']), /daily cap EUR 0\.110000/);
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          api(apiProc.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `capped ${i}`, ...BODY }, headers: { prefer: 'wait=0' } }),
        ),
      );
      const accepted = results.filter((r) => r.status === 202);
      const refused = results.filter((r) => r.status === 402);
      assert.equal(accepted.length, 5, results.map((r) => r.status).join(','));
      assert.equal(refused.length, 45);
      const tomorrow = new Date();
      tomorrow.setUTCHours(24, 0, 0, 0);
      for (const r of refused) {
        assert.equal(r.body.error, 'spending_cap_reached', r.text);
        assert.equal(r.body.details.cap, 'daily');
        assert.equal(r.body.details.resets_at, tomorrow.toISOString().replace('.000Z', 'Z'));
      }
      let spending = (await api(apiProc.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.spending;
      assert.equal(spending.daily_cap_eur, '0.110000');
      assert.equal(spending.monthly_cap_eur, null);
      assert.equal(spending.held_eur, '0.100000');
      assert.equal(spending.spent_today_eur, '0.000000');

      // Once they ran, the money is spent rather than held, and still counts against the cap.
      const { worker } = await runAll(apiProc, accepted.map((r) => r.body.job_id as string));
      procs.push(worker);
      spending = (await api(apiProc.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.spending;
      assert.equal(spending.held_eur, '0.000000');
      assert.equal(spending.spent_today_eur, '0.100000');
      assert.equal(spending.spent_this_month_eur, '0.100000');
      const again = await api(apiProc.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'one more', ...BODY }, headers: { prefer: 'wait=0' } });
      assert.equal(again.status, 402, again.text);
      assert.equal(again.body.error, 'spending_cap_reached');
      const row = (await accountsList(apiProc)).get('capped')!;
      assert.equal(row.daily_cap_eur, '0.110000');
      assert.equal(row.spent_today_eur, '0.100000');
      assert.equal(row.monthly_cap_eur, '-');
      assert.deepEqual([row.running, row.queued], [0, 0]);
    } finally {
      await stopAll(procs);
    }
  });
});
