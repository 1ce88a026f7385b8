import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

describe('concurrent submits against a small balance', () => {
  let srv: EaselProcess;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_PRICE_EUR: '0.100000', EASEL_MAX_CONCURRENT_JOBS: '100' } });
  });
  after(() => srv.stop());

  it('50 racing requests for a balance that covers 10: exactly 10 succeed, 40 get 402, never negative', async () => {
    const key = await srv.createKey('race', '1.000000');
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `race ${i}` } })),
    );
    const ok = results.filter((r) => r.status === 200);
    const poor = results.filter((r) => r.status === 402);
    assert.equal(ok.length, 10, results.map((r) => r.status).join(','));
    assert.equal(poor.length, 40);
    for (const r of poor) assert.equal(r.body.error, 'credit_insufficient');
    for (const r of ok) assert.ok(!r.body.balance_eur.startsWith('-'));
    const balances = ok.map((r) => r.body.balance_eur).sort();
    assert.equal(balances[0], '0.000000', 'the last success leaves exactly nothing');
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.equal(profile.balance_eur, '0.000000');
    assert.equal(profile.held_eur, '0.000000');
    const jobs = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key });
    assert.equal(jobs.body.total, 10, 'rejected submits left no job behind');
    const audit = await auditLedger(srv, 'race');
    assert.equal(audit.ledgerAvailable, audit.available);
    assert.equal(audit.ledgerHeld, audit.held);
    assert.equal(audit.grants, 1_000_000);
    assert.equal(audit.captures, 1_000_000);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('over the backlog limit answers 429 rate_limited with Retry-After and holds nothing; the running limit makes the rest wait, not fail', async () => {
    // One job of the account runs at a time and one may wait: of four simultaneous creates two are
    // refused, the two accepted run one after the other.
    const slow = await EaselProcess.start({ env: { EASEL_MAX_CONCURRENT_JOBS: '1', EASEL_MAX_QUEUED_JOBS: '1', EASEL_SKETCH_LATENCY_MS: '1500', EASEL_WORKER_CONCURRENCY: '2' } });
    try {
      const key = await slow.createKey('limited', '10');
      const first = api(slow.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'limit 0' } });
      await waitFor(async () => (await api(slow.baseUrl, 'GET', '/v1/jobs?status=processing', { key })).body.generations.length === 1, 20_000);
      const others = Promise.all(Array.from({ length: 3 }, (_, i) => api(slow.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `limit ${i + 1}` } })));
      const results = [await first, ...(await others)];
      const codes = results.map((r) => r.status).sort();
      assert.deepEqual(codes, [200, 200, 429, 429]);
      const limited = results.find((r) => r.status === 429)!;
      assert.equal(limited.body.error, 'rate_limited');
      assert.equal(limited.body.details.limit, 1);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);
      const p = (await api(slow.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
      assert.equal(p.balance_eur, '9.960000');
      assert.equal(p.held_eur, '0.000000');
      assert.deepEqual([p.scheduling.max_running_jobs, p.scheduling.max_queued_jobs], [1, 1]);
      // The two that ran never overlapped: the running limit held.
      const done = (await api(slow.baseUrl, 'GET', '/v1/jobs?status=completed', { key })).body.generations as { started_at: string; completed_at: string }[];
      assert.equal(done.length, 2);
      const [a, b] = done.map((j) => [Date.parse(j.started_at), Date.parse(j.completed_at)] as const).sort((x, y) => x[0] - y[0]);
      assert.ok(b![0] >= a![1] - 1000, `the second started (${b![0]}) after the first ended (${a![1]}), to the second`);
    } finally {
      await slow.stop();
    }
  });
});
