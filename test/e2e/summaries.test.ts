import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { queryDb } from '../helpers/store-snapshot.js';

/** The value of one series in a Prometheus text exposition (labels in any order), or undefined. */
function series(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/**
 * GET /v1/jobs `total`, the ledger page's `total` and /metrics' job and ledger figures are read from
 * summaries kept by triggers (migration 0018), not counted per request. Whatever the traffic — two
 * processes writing at once, cancels, a batch, failures — each must equal what counting the rows says.
 */
describe(`summaries equal the rows they summarise (${MODE})`, () => {
  let apiProc: EaselProcess;
  let worker: EaselProcess;
  const keys: string[] = [];
  const accounts: string[] = [];

  before(async () => {
    apiProc = await EaselProcess.start({ args: ['--no-worker'] });
    worker = await EaselProcess.start({ command: 'worker', sharedWith: apiProc, env: { EASEL_SKETCH_LATENCY_MS: '250', EASEL_WORKER_CONCURRENCY: '2' } });
    for (const name of ['sum-a', 'sum-b']) {
      const key = await apiProc.createKey(name, '50');
      keys.push(key);
      const r = await api(apiProc.baseUrl, 'GET', '/v1/jobs?limit=1', { key });
      assert.equal(r.status, 200);
    }
    const rows = await queryDb(apiProc, `select a.id from accounts a join api_keys k on k.account_id = a.id where k.name in ('sum-a', 'sum-b') order by k.name`);
    accounts.push(...rows.map((r) => String(r.id)));

    // Concurrent submits from both accounts, some with metadata, some canceled before they run,
    // one batch (its items are not "jobs of their own": the list's total leaves them out).
    const submits = Array.from({ length: 36 }, (_, i) =>
      api(apiProc.baseUrl, 'POST', '/v1/generate/image', {
        key: keys[i % 3 === 0 ? 1 : 0]!,
        headers: { prefer: 'wait=0' },
        body: { prompt: `summary ${i}`, ...(i % 4 === 0 ? { metadata: { team: 'red' } } : {}) },
      }),
    );
    const made = await Promise.all(submits);
    for (const r of made) assert.ok(r.status === 200 || r.status === 202, r.text);
    const ids = made.map((r) => r.headers.get('x-easel-job-id')!);
    const owner = (id: string) => keys[ids.indexOf(id) % 3 === 0 ? 1 : 0]!;
    for (const id of ids.slice(-6)) {
      const c = await api(apiProc.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key: owner(id) });
      assert.equal(c.status, 200, c.text);
    }
    const batch = await api(apiProc.baseUrl, 'POST', '/v1/batches', { key: keys[0]!, body: { operation: 'image', items: [0, 1, 2, 3].map((i) => ({ prompt: `batch item ${i}` })) } });
    assert.ok(batch.status === 200 || batch.status === 202, batch.text);
    await waitFor(async () => {
      const open = await queryDb(apiProc, `select count(*) as n from jobs where status in ('pending', 'processing')`);
      return Number(open[0]!.n) === 0;
    }, 60_000, 100);
  });
  after(async () => {
    await worker?.stop();
    await apiProc?.stop();
  });

  const listTotal = async (key: string, query: string) => {
    const r = await api(apiProc.baseUrl, 'GET', `/v1/jobs?limit=5${query}`, { key });
    assert.equal(r.status, 200, r.text);
    return (r.body as { total: number }).total;
  };
  const counted = async (accountId: string, where: string) =>
    Number((await queryDb(apiProc, `select count(*) as n from jobs where account_id = $1 and batch_id is null${where}`, [accountId]))[0]!.n);

  const checkListTotals = async () => {
    for (const [i, key] of keys.entries()) {
      const a = accounts[i]!;
      assert.equal(await listTotal(key, ''), await counted(a, ''), 'unfiltered total');
      assert.equal(await listTotal(key, '&status=completed'), await counted(a, ` and status = 'completed'`), 'completed total');
      // The API's `failed` includes canceled jobs (docs/JOBS.md).
      assert.equal(await listTotal(key, '&status=failed'), await counted(a, ` and status in ('failed', 'canceled')`), 'failed total');
      assert.equal(await listTotal(key, '&status=completed,failed&operation=image'), await counted(a, ` and status in ('completed', 'failed', 'canceled') and operation = 'image'`), 'status and operation');
      assert.equal(await listTotal(key, '&operation=story'), await counted(a, ` and operation = 'story'`), 'no story jobs');
      // A metadata filter is counted over the rows themselves.
      assert.equal(await listTotal(key, '&metadata%5Bteam%5D=red'), Number((await queryDb(apiProc, `select count(*) as n from job_metadata m join jobs j on j.id = m.job_id where m.account_id = $1 and j.batch_id is null and m.key = 'team' and m.value = 'red'`, [a]))[0]!.n));
      // The profile's usage: jobs, completed, failed and charged, by operation (every job of the account, batch items too).
      const profile = (await api(apiProc.baseUrl, 'GET', '/v1/account/profile', { key })).body as { user: { usage: { total: Record<string, unknown>; by_operation: Record<string, unknown>[] } } };
      const agg = await queryDb(apiProc, `select operation, count(*) as jobs, sum(case when status = 'completed' then 1 else 0 end) as completed, sum(case when status = 'failed' then 1 else 0 end) as failed, sum(charged_micros) as charged from jobs where account_id = $1 group by operation order by operation`, [a]);
      assert.deepEqual(
        profile.user.usage.by_operation.map((o) => [o.operation, o.jobs, o.completed, o.failed, Math.round(Number(o.charged_eur) * 1e6)]),
        agg.map((r) => [r.operation, Number(r.jobs), Number(r.completed), Number(r.failed), Number(r.charged)]),
        'usage by operation',
      );
      assert.equal(profile.user.usage.total.jobs, agg.reduce((n, r) => n + Number(r.jobs), 0));
      const ledger = await api(apiProc.baseUrl, 'GET', '/v1/account/ledger?limit=1', { key });
      assert.equal((ledger.body as { total: number }).total, Number((await queryDb(apiProc, 'select count(*) as n from ledger where account_id = $1', [a]))[0]!.n), 'ledger total');
    }
  };

  it('the work ran as planned: completed, canceled and batch items exist for the checks to mean something', async () => {
    const by = await queryDb(apiProc, `select status, count(*) as n from jobs group by status`);
    const n = Object.fromEntries(by.map((r) => [String(r.status), Number(r.n)]));
    assert.ok((n.completed ?? 0) >= 20, JSON.stringify(n));
    assert.ok((n.canceled ?? 0) >= 1, JSON.stringify(n));
    const items = await queryDb(apiProc, 'select count(*) as n from jobs where batch_id is not null');
    assert.equal(Number(items[0]!.n), 4);
  });

  it('list totals (by status, operation, metadata), usage and ledger totals equal the rows, before the deltas are folded', async () => {
    const deltas = await queryDb(apiProc, 'select count(*) as n from job_count_deltas');
    assert.ok(Number(deltas[0]!.n) > 0, 'nothing folded yet: totals come from the deltas');
    await checkListTotals();
  });

  it('/metrics: jobs by state and operation and the ledger by kind equal the rows; the scrape folds the deltas, and totals stay exact after', async () => {
    const text = (await api(apiProc.baseUrl, 'GET', '/metrics')).text;
    const rows = await queryDb(apiProc, 'select status, operation, count(*) as n from jobs group by status, operation');
    assert.ok(rows.length >= 2);
    for (const r of rows) assert.equal(series(text, 'easel_jobs', { state: String(r.status), operation: String(r.operation) }), Number(r.n), `${r.status}/${r.operation}`);
    const all = Number((await queryDb(apiProc, `select count(*) as n from jobs where status = 'completed'`))[0]!.n);
    assert.equal(series(text, 'easel_jobs', { state: 'completed', operation: 'all' }), all);
    const sums = Object.fromEntries(
      (await queryDb(apiProc, 'select kind, sum(delta_available) as a, sum(delta_held) as h from ledger group by kind')).map((r) => [String(r.kind), { a: Number(r.a), h: Number(r.h) }]),
    );
    assert.equal(series(text, 'easel_ledger_micro_eur', { kind: 'grant' }), sums.grant!.a);
    assert.equal(series(text, 'easel_ledger_micro_eur', { kind: 'hold' }), sums.hold!.h);
    assert.equal(series(text, 'easel_ledger_micro_eur', { kind: 'capture' }), -sums.capture!.h);
    assert.equal(series(text, 'easel_ledger_micro_eur', { kind: 'release' }), sums.release?.a ?? 0);
    // The balance gauges come from the ledger totals too: they equal the accounts' own balances, summed.
    const bal = (await queryDb(apiProc, 'select sum(available_micros) as a, sum(held_micros) as h from accounts'))[0]!;
    assert.equal(series(text, 'easel_balance_micro_eur', { kind: 'available' }), Number(bal.a));
    assert.equal(series(text, 'easel_balance_micro_eur', { kind: 'held' }), Number(bal.h));
    for (const t of ['job_count_deltas', 'usage_deltas', 'ledger_total_deltas']) assert.equal(Number((await queryDb(apiProc, `select count(*) as n from ${t}`))[0]!.n), 0, `the scrape folded ${t}`);
    await checkListTotals();
  });
});
