import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { EaselProcess, MODE, api } from '../helpers/server.js';

const REDIS_URL = process.env.EASEL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const assertRateLimited = (r: { status: number; body: any; headers: Headers }) => {
  assert.equal(r.status, 429, JSON.stringify(r.body));
  assert.equal(r.body.error, 'rate_limited');
  assert.equal(r.body.request_id, r.headers.get('x-request-id'));
  assert.ok(Number(r.headers.get('retry-after')) >= 1, 'Retry-After in seconds');
  assert.equal(r.body.details.limit, 20);
};

/** Writes `chunks` to a raw socket and collects everything the server sends until it closes the connection. */
function slowClient(port: number, chunks: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const sock = net.connect(port, '127.0.0.1', () => {
      for (const c of chunks) sock.write(c);
      // …and then nothing more: the client stalls.
    });
    sock.on('data', (d) => (got += d.toString()));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

describe(`abuse limits (${MODE})`, () => {
  // One server for the single-process limits: 20 requests/min per key, 1 s to send a request,
  // a 4 KiB body limit, and a renderer slower (2.5 s) than that request timeout.
  let srv: EaselProcess;
  let k1: string;
  let k2: string;
  let k3: string;
  before(async () => {
    srv = await EaselProcess.start({
      env: { EASEL_RATE_LIMIT_PER_MIN: '20', EASEL_REQUEST_TIMEOUT_MS: '1000', EASEL_SKETCH_LATENCY_MS: '2500', EASEL_MAX_BODY_BYTES: '4096' },
    });
    [k1, k2, k3] = await Promise.all([srv.createKey('rl-one', '1'), srv.createKey('rl-two', '1'), srv.createKey('slow', '1')]);
  });
  after(async () => {
    await srv?.stop();
  });

  it('per-key request rate: past EASEL_RATE_LIMIT_PER_MIN → 429 rate_limited with Retry-After; other keys and public routes unaffected', async () => {
    const codes: number[] = [];
    for (let i = 0; i < 25; i++) {
      const r = await api(srv.baseUrl, 'GET', '/v1/jobs', { key: k1 });
      codes.push(r.status);
      if (r.status === 429) assertRateLimited(r);
      // Every counted answer says where the key stands in its window.
      else {
        assert.equal(r.headers.get('x-ratelimit-limit'), '20');
        assert.equal(r.headers.get('x-ratelimit-remaining'), String(19 - i));
        const reset = Number(r.headers.get('x-ratelimit-reset'));
        assert.ok(reset >= 1 && reset <= 60, `x-ratelimit-reset ${reset}`);
      }
    }
    assert.deepEqual(codes, [...Array(20).fill(200), ...Array(5).fill(429)]);
    // Every route counts against the same key's budget, writes included, and nothing is charged for a refusal.
    const write = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: k1, body: { prompt: 'over the limit' } });
    assertRateLimited(write);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: k2 })).status, 200, 'another key has its own budget');
    assert.equal((await api(srv.baseUrl, 'GET', '/health')).status, 200, 'public routes are not counted per key');
    const profile = await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: k2 });
    assert.equal(profile.body.user.balance_eur, '1.000000');
  });

  it('two API processes sharing Redis count one limit per key', async () => {
    const env = { EASEL_RATE_LIMIT_PER_MIN: '20', EASEL_REDIS_URL: REDIS_URL };
    const a = await EaselProcess.start({ env, args: ['--no-worker'] });
    const procs = [a];
    try {
      const b = await EaselProcess.start({ env, args: ['--no-worker'], sharedWith: a });
      procs.push(b);
      const key = await a.createKey('rl-shared', '1');
      const byProcess = { a: [] as number[], b: [] as number[] };
      for (let i = 0; i < 30; i++) {
        const which = i % 2 ? 'b' : 'a';
        const r = await api((which === 'a' ? a : b).baseUrl, 'GET', '/v1/jobs', { key });
        byProcess[which].push(r.status);
        if (r.status === 429) assertRateLimited(r);
      }
      const all = [...byProcess.a, ...byProcess.b];
      assert.equal(all.filter((c) => c === 200).length, 20, JSON.stringify(byProcess));
      assert.equal(all.filter((c) => c === 429).length, 10);
      assert.ok(byProcess.a.includes(429) && byProcess.b.includes(429), 'both processes enforce the shared count');
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });

  it('slow clients get 408 in the error shape; a synchronous generation may still wait longer than the request timeout; 413 past the body limit', async () => {
    const key = k3;
    const port = Number(new URL(srv.baseUrl).port);
    // Headers that never finish (slowloris), then a body that never finishes.
    for (const chunks of [
      ['GET /v1/jobs HTTP/1.1\r\n', 'Host: 127.0.0.1\r\n', `Authorization: Bearer ${key}\r\n`],
      [`POST /v1/generate/image HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`, '{"prompt": "a sl'],
    ]) {
      const answer = await slowClient(port, chunks);
      assert.match(answer, /^HTTP\/1\.1 408 /, answer);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4));
      assert.equal(body.error, 'request_timeout');
      assert.ok(answer.toLowerCase().includes(`x-request-id: ${body.request_id}`.toLowerCase()));
      assert.match(answer, /X-Content-Type-Options: nosniff/i);
    }
    // The request timeout covers receiving the request only: the generation (2.5 s) outlasts it.
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a patient lighthouse' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.cost_eur, '0.020000');
    const big = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'x'.repeat(5000) } });
    assert.equal(big.status, 413);
    assert.equal(big.body.error, 'payload_too_large');
    const p = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.equal(p.balance_eur, '0.980000', 'only the completed generation was charged');
    assert.equal(p.held_eur, '0.000000');
  });
});
