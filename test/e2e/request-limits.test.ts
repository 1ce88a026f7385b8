import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { apiFrom, freshLoopbackAddress } from '../helpers/from-address.js';

const REDIS_URL = process.env.EASEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The limits beside the per-key request rate (issue 20): one per account, shared by all its keys
 * (EASEL_RATE_LIMIT_ACCOUNT_PER_MIN), and one on failed authentication per client address
 * (EASEL_AUTH_FAILURES_PER_MIN), which never refuses a valid key. Each counted in the process, or
 * in Redis across processes. Every client address here is a fresh 127.x.y.z, so counts left in
 * Redis by another run never meet this one.
 */
const assertLimited = (r: { status: number; body: any; headers: Headers | Record<string, unknown> }, scope: string, limit: number) => {
  const header = (n: string) => (r.headers instanceof Headers ? r.headers.get(n) : (r.headers[n] as string | undefined));
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error, 'rate_limited');
  assert.equal(r.body.details.limit_scope, scope);
  assert.equal(r.body.details.limit, limit);
  assert.ok(Number(header('retry-after')) >= 1 && Number(header('retry-after')) <= 60, `Retry-After ${header('retry-after')}`);
  assert.equal(header('x-ratelimit-limit'), String(limit));
  assert.equal(header('x-ratelimit-remaining'), '0');
  assert.equal(r.body.request_id, header('x-request-id'));
};

describe(`request limits per account and per address (${MODE})`, () => {
  let srv: EaselProcess;
  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_RATE_LIMIT_PER_MIN: '20', EASEL_RATE_LIMIT_ACCOUNT_PER_MIN: '30', EASEL_AUTH_FAILURES_PER_MIN: '5' } });
  });
  after(() => srv?.stop());

  it('two keys of one account share the account limit; another account is unaffected', async () => {
    const owner = await srv.createKey('acct-limit', '1');
    const other = await srv.createKey('acct-other', '1');
    const minted = await api(srv.baseUrl, 'POST', '/v1/keys', { key: owner, body: { name: 'second' } });
    assert.equal(minted.status, 201);
    const keys = [owner, minted.body.key as string];
    const codes: number[] = [];
    let refused: Awaited<ReturnType<typeof api<any>>> | null = null;
    for (let i = 0; i < 34; i++) {
      const r = await api(srv.baseUrl, 'GET', '/v1/jobs', { key: keys[i % 2] });
      codes.push(r.status);
      if (r.status === 429) refused ??= r;
    }
    // 30 a minute for the account: the key minting above was one of them. Each key stayed under its own 20.
    assert.deepEqual(codes, [...Array(29).fill(200), ...Array(5).fill(429)], codes.join(','));
    assertLimited(refused!, 'account', 30);
    assert.match(refused!.body.message, /all its API keys together/);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: other })).status, 200, 'another account has its own budget');
  });

  it('failed authentication: past the limit an address gets 429 for missing and unknown keys, while a valid key from it is served', async () => {
    const from = freshLoopbackAddress();
    const valid = await srv.createKey('auth-fail-valid', '1');
    const revoked = await api(srv.baseUrl, 'POST', '/v1/keys', { key: valid, body: { name: 'to-revoke' } });
    assert.equal((await api(srv.baseUrl, 'DELETE', `/v1/keys/${revoked.body.id}`, { key: valid })).status, 200);
    const unknown = `esl_${'A'.repeat(43)}`;
    // Five failures of every kind: a missing key, a malformed header, a malformed key, an unknown key, a revoked key.
    const bad = [{}, { authorization: 'Basic abc' }, { key: 'esl_short' }, { key: unknown }, { key: revoked.body.key as string }];
    for (const opts of bad) {
      const r = await apiFrom(from, srv.baseUrl, 'GET', '/v1/jobs', opts);
      assert.equal(r.status, 401, JSON.stringify(r.body));
      assert.equal(r.body.error, 'auth_invalid');
    }
    for (const opts of bad) assertLimited(await apiFrom(from, srv.baseUrl, 'GET', '/v1/jobs', opts), 'address', 5);
    const ok = await apiFrom(from, srv.baseUrl, 'GET', '/v1/jobs', { key: valid });
    assert.equal(ok.status, 200, 'a valid key from the same address is unaffected');
    assert.equal((await apiFrom(from, srv.baseUrl, 'GET', '/v1/account/profile', { key: valid })).status, 200);
    // Another address is counted on its own.
    const elsewhere = await apiFrom(freshLoopbackAddress(), srv.baseUrl, 'GET', '/v1/jobs', { key: unknown });
    assert.equal(elsewhere.status, 401);
    // Public routes need no key and are never refused by it.
    assert.equal((await apiFrom(from, srv.baseUrl, 'GET', '/health')).status, 200);
  });

  it('both limits are shared by API processes through Redis', async () => {
    const env = { EASEL_RATE_LIMIT_PER_MIN: '20', EASEL_RATE_LIMIT_ACCOUNT_PER_MIN: '30', EASEL_AUTH_FAILURES_PER_MIN: '4', EASEL_REDIS_URL: REDIS_URL };
    const a = await EaselProcess.start({ env, args: ['--no-worker'] });
    const procs = [a];
    try {
      const b = await EaselProcess.start({ env, args: ['--no-worker'], sharedWith: a });
      procs.push(b);
      const k1 = await a.createKey('redis-acct', '1');
      const k2 = (await api(a.baseUrl, 'POST', '/v1/keys', { key: k1, body: { name: 'redis-second' } })).body.key as string;
      // Key one on process a, key two on process b: one count for the account.
      const codes: number[] = [];
      for (let i = 0; i < 32; i++) {
        const r = await api((i % 2 ? b : a).baseUrl, 'GET', '/v1/jobs', { key: i % 2 ? k2 : k1 });
        codes.push(r.status);
        if (r.status === 429) assertLimited(r, 'account', 30);
      }
      assert.equal(codes.filter((c) => c === 200).length, 29, codes.join(','));
      // Failures on process a count on process b.
      const from = freshLoopbackAddress();
      const unknown = `esl_${'B'.repeat(43)}`;
      for (let i = 0; i < 4; i++) assert.equal((await apiFrom(from, a.baseUrl, 'GET', '/v1/jobs', { key: unknown })).status, 401);
      assertLimited(await apiFrom(from, b.baseUrl, 'GET', '/v1/jobs', { key: unknown }), 'address', 4);
      assertLimited(await apiFrom(from, b.baseUrl, 'GET', '/v1/jobs', {}), 'address', 4);
      const fresh = await b.createKey('redis-valid', '1');
      assert.equal((await apiFrom(from, b.baseUrl, 'GET', '/v1/jobs', { key: fresh })).status, 200, 'a valid key from the same address is unaffected');
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });
});
