import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Easel, EaselApiError, EaselConnectionError, parseRetryAfter, type RetryInfo } from '../../src/sdk/index.js';

/** The retry policy against a scripted local server: which answers are retried, with which delays. */
describe('SDK transport', () => {
  let server: http.Server;
  let base: string;
  let script: { status: number; headers?: Record<string, string>; body?: unknown }[] = [];
  const seen: { method: string; url: string; idem: string | undefined }[] = [];

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push({ method: req.method!, url: req.url!, idem: req.headers['idempotency-key'] as string | undefined });
      req.resume();
      const next = script.shift() ?? { status: 200, body: { ok: true } };
      res.writeHead(next.status, { 'content-type': 'application/json', 'x-request-id': `req_${seen.length}`, ...next.headers });
      res.end(typeof next.body === 'string' ? next.body : JSON.stringify(next.body ?? {}));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const client = (retries: RetryInfo[], o: { maxRetries?: number } = {}) =>
    new Easel({ apiKey: 'esl_x', baseUrl: base, retryBaseMs: 1, maxRetries: o.maxRetries ?? 2, onRetry: (i) => retries.push(i) });

  it('retries 429 honouring Retry-After and 5xx with backoff, keeping one Idempotency-Key per create', async () => {
    seen.length = 0;
    script = [
      { status: 429, headers: { 'retry-after': '0' }, body: { error: 'rate_limited', message: 'slow down', request_id: 'req_a' } },
      { status: 502, body: { error: 'upstream_error', message: 'vendor', request_id: 'req_b' } },
      { status: 200, body: { id: 'x' } },
    ];
    const retries: RetryInfo[] = [];
    const r = await client(retries).generateImage({ prompt: 'p' });
    assert.deepEqual(r, { id: 'x' });
    assert.deepEqual(retries.map((i) => (i.error as EaselApiError).status), [429, 502]);
    assert.equal(seen.length, 3);
    assert.match(seen[0]!.idem!, /^[0-9a-f-]{36}$/);
    assert.ok(seen.every((s) => s.idem === seen[0]!.idem), 'the same key on every retry');
  });

  it('gives up after maxRetries with the last typed error, and does not retry 4xx', async () => {
    script = [500, 500, 500].map((status) => ({ status, body: { error: 'internal_error', message: 'boom', request_id: 'req_c' } }));
    const retries: RetryInfo[] = [];
    await assert.rejects(client(retries).models(), (e: unknown) => e instanceof EaselApiError && e.status === 500 && e.requestId === 'req_c');
    assert.equal(retries.length, 2);
    script = [{ status: 422, body: { error: 'validation_failed', message: 'bad', details: { fields: [] }, request_id: 'req_d' } }];
    const none: RetryInfo[] = [];
    await assert.rejects(client(none).generateImage({ prompt: 'p' }), (e: unknown) => e instanceof EaselApiError && e.code === 'validation_failed' && e.details !== undefined);
    assert.equal(none.length, 0);
  });

  it('a non-JSON error body still becomes a typed error', async () => {
    script = [{ status: 403, headers: { 'content-type': 'application/xml' }, body: '<Error><Code>AccessDenied</Code></Error>' }];
    await assert.rejects(client([], { maxRetries: 0 }).profile(), (e: unknown) => {
      assert.ok(e instanceof EaselApiError);
      assert.equal(e.status, 403);
      assert.equal(e.code, 'http_403');
      assert.match(e.message, /AccessDenied/);
      assert.match(e.requestId!, /^req_\d+$/, 'the request id comes from the header');
      return true;
    });
  });

  it('retries a network error for reads only', async () => {
    const reads: RetryInfo[] = [];
    const readClient = new Easel({ apiKey: 'esl_x', baseUrl: 'http://127.0.0.1:1', retryBaseMs: 1, maxRetries: 2, onRetry: (i) => reads.push(i) });
    await assert.rejects(readClient.listJobs(), EaselConnectionError);
    assert.equal(reads.length, 2, 'GET retried');
    const writes: RetryInfo[] = [];
    const writeClient = new Easel({ apiKey: 'esl_x', baseUrl: 'http://127.0.0.1:1', retryBaseMs: 1, maxRetries: 2, onRetry: (i) => writes.push(i) });
    await assert.rejects(writeClient.generateImage({ prompt: 'p' }), EaselConnectionError);
    assert.equal(writes.length, 0, 'a create is not resent when no answer came back');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter('soon'), null);
    const d = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())!;
    assert.ok(d > 50_000 && d <= 60_000);
  });
});
