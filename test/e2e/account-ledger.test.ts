import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

const micros = (eur: string) => Math.round(Number(eur) * 1e6);

describe('GET /v1/account/ledger and usage in GET /v1/account/profile', () => {
  let srv: EaselProcess;
  let key: string;
  let other: string;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    key = await srv.createKey('ledger-main', '1');
    other = await srv.createKey('ledger-other', '2');
    // Two images, one diagram on the cheaper model, one edit whose input cannot be fetched (fails, charges nothing).
    const calls = [
      ['/v1/generate/image', { prompt: 'ledger one' }],
      ['/v1/generate/image', { prompt: 'ledger two' }],
      ['/v1/generate/diagram', { prompt: 'a, b', model: 'easel-sketch-fast' }],
      ['/v1/edit/image', { prompt: 'x', image_url: 'http://127.0.0.1:9/nothing.png' }],
    ] as const;
    for (const [p, body] of calls) await api(srv.baseUrl, 'POST', p, { key, body });
    await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: other, body: { prompt: 'someone else' } });
  });
  // Optional chaining: a before() that failed must not leave a listener keeping the file alive.
  after(() => srv?.stop());

  it('lists every movement newest first; amounts sum to the balance and held amount', async () => {
    const res = await api(srv.baseUrl, 'GET', '/v1/account/ledger?limit=100', { key });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const { entries, total, limit, offset } = res.body;
    assert.equal(limit, 100);
    assert.equal(offset, 0);
    // grant + (hold, capture) × 3 successes + (hold, release) for the failed edit.
    assert.equal(total, 9);
    assert.equal(entries.length, 9);
    for (const e of entries) {
      assert.deepEqual(Object.keys(e).sort(), ['amount_eur', 'created_at', 'held_delta_eur', 'id', 'job_id', 'kind', 'note'].sort());
      assert.match(e.amount_eur, /^-?\d+\.\d{6}$/);
      assert.match(e.created_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    }
    const ids = entries.map((e: any) => e.id);
    assert.deepEqual(ids, [...ids].sort().reverse(), 'newest first');
    assert.deepEqual(entries.at(-1), { ...entries.at(-1), kind: 'grant', amount_eur: '1.000000', held_delta_eur: '0.000000', job_id: null });
    const kinds = entries.map((e: any) => e.kind).sort();
    assert.deepEqual(kinds, ['capture', 'capture', 'capture', 'grant', 'hold', 'hold', 'hold', 'hold', 'release'].sort());
    const release = entries.find((e: any) => e.kind === 'release');
    assert.match(release.note, /job failed: reference_unavailable/);
    assert.equal(release.amount_eur, '0.020000');
    assert.equal(release.held_delta_eur, '-0.020000');
    const hold = entries.find((e: any) => e.kind === 'hold' && e.job_id === release.job_id);
    assert.deepEqual([hold.amount_eur, hold.held_delta_eur], ['-0.020000', '0.020000']);
    const captures = entries.filter((e: any) => e.kind === 'capture').map((e: any) => [e.amount_eur, e.held_delta_eur]);
    assert.deepEqual(captures.sort(), [['0.000000', '-0.010000'], ['0.000000', '-0.020000'], ['0.000000', '-0.020000']]);

    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    const sum = (f: string) => entries.reduce((a: number, e: any) => a + micros(e[f]), 0);
    assert.equal(sum('amount_eur'), micros(profile.balance_eur));
    assert.equal(sum('held_delta_eur'), micros(profile.held_eur));
    assert.equal(profile.balance_eur, '0.950000');
    // The reference's account fields a self-hosted server has no machinery for, answered as what is true of it.
    assert.deepEqual(
      [profile.email_verified, profile.two_factor_enabled, profile.pending_credit_notice, profile.prompt_analysis_opt_in, profile.providers, profile.free_trial_pending_eur],
      [false, false, false, false, [], null],
    );
    const audit = await auditLedger(srv, 'ledger-main');
    assert.equal(audit.ledgerAvailable, micros(profile.balance_eur));
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
  });

  it('pages with limit and offset over one ordering, with a total; another account\'s rows never appear', async () => {
    const all = (await api(srv.baseUrl, 'GET', '/v1/account/ledger?limit=100', { key })).body.entries.map((e: any) => e.id);
    const pages: string[] = [];
    for (let offset = 0; offset < 12; offset += 4) {
      const r = await api(srv.baseUrl, 'GET', `/v1/account/ledger?limit=4&offset=${offset}`, { key });
      assert.equal(r.status, 200);
      assert.equal(r.body.total, 9);
      pages.push(...r.body.entries.map((e: any) => e.id));
    }
    assert.deepEqual(pages, all);
    const dflt = (await api(srv.baseUrl, 'GET', '/v1/account/ledger', { key })).body;
    assert.equal(dflt.limit, 20);
    assert.equal(dflt.entries.length, 9);
    const theirs = (await api(srv.baseUrl, 'GET', '/v1/account/ledger', { key: other })).body;
    assert.equal(theirs.total, 3);
    assert.ok(!theirs.entries.some((e: any) => all.includes(e.id)));
  });

  it('rejects bad paging: over the limit 422, wrong types and unknown parameters 400; a key is required', async () => {
    for (const [q, status] of [['limit=101', 422], ['limit=0', 422], ['offset=-1', 422], ['limit=ten', 400], ['page=2', 400]] as const) {
      const r = await api(srv.baseUrl, 'GET', `/v1/account/ledger?${q}`, { key });
      assert.equal(r.status, status, `${q}: ${r.text}`);
    }
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/ledger')).status, 401);
  });

  it('the profile reports usage by operation and by month', async () => {
    const usage = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.usage;
    assert.deepEqual(usage.total, { jobs: 4, completed: 3, failed: 1, charged_eur: '0.050000' });
    assert.deepEqual(usage.by_operation, [
      { operation: 'diagram', jobs: 1, completed: 1, failed: 0, charged_eur: '0.010000' },
      { operation: 'edit_image', jobs: 1, completed: 0, failed: 1, charged_eur: '0.000000' },
      { operation: 'image', jobs: 2, completed: 2, failed: 0, charged_eur: '0.040000' },
    ]);
    const month = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key })).body.generations[0].created_at.slice(0, 7);
    assert.equal(usage.by_month.length, 1);
    assert.equal(usage.by_month[0].month, month);
    assert.equal(usage.by_month[0].charged_eur, '0.050000');
    assert.deepEqual(usage.by_month[0].by_operation, usage.by_operation);
    const fresh = await srv.createKey('ledger-fresh', '1');
    const none = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: fresh })).body.user.usage;
    assert.deepEqual(none, { total: { jobs: 0, completed: 0, failed: 0, charged_eur: '0.000000' }, by_operation: [], by_month: [] });
  });
});
