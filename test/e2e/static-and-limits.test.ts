import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EaselProcess, MODE, ROOT, api } from '../helpers/server.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * Issue 20, items 3 and 7, as an unauthenticated client (and an owner) sees them: static files
 * answer 416/412/404 instead of 500, every JSON body has a depth limit, `Prefer: wait` is capped
 * rather than ignored, job ids are case-insensitive, the dashboard's source map is not served.
 */
const assertErrorShape = (r: RawResponse, status: number, code: string) => {
  const show = `${r.status} ${r.text.slice(0, 300)}`;
  assert.equal(r.status, status, show);
  assert.equal(r.json?.error, code, show);
  assert.equal(typeof r.json.message, 'string', show);
  assert.equal(r.json.request_id, r.headers['x-request-id'], show);
};

function deepObject(depth: number): string {
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);
}

describe(`static files, JSON depth, Prefer and ids (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let job: { id: string; url: string; size: number };

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('static-limits', '1');
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse at dusk' } });
    assert.equal(r.status, 200, r.text);
    job = { id: r.body.id, url: r.body.formats.png.url, size: r.body.formats.png.size_bytes };
  });
  after(() => srv?.stop());

  const fileRequest = (headers: Record<string, string>) => {
    const u = new URL(job.url);
    return rawRequest(u.origin, { method: 'GET', path: u.pathname + u.search, headers });
  };

  it('a signed file URL: a Range past the end is 416 (Content-Range: bytes */size), a failed If-Match or If-Unmodified-Since is 412; never a 5xx', async () => {
    const past = await fileRequest({ range: 'bytes=99999999-' });
    const ifMatch = await fileRequest({ 'if-match': '"nope"' });
    const unmodified = await fileRequest({ 'if-unmodified-since': 'Mon, 01 Jan 1990 00:00:00 GMT' });
    if (MODE === 'embedded') {
      // Our own /files/ route: the one error shape.
      assertErrorShape(past, 416, 'range_not_satisfiable');
      assert.equal(past.headers['content-range'], `bytes */${job.size}`);
      assertErrorShape(ifMatch, 412, 'precondition_failed');
      assertErrorShape(unmodified, 412, 'precondition_failed');
    } else {
      // Scale-out: the URL is the bucket's own; the S3 server answers (in S3's XML shape).
      assert.equal(past.status, 416, past.text);
      assert.equal(ifMatch.status, 412, ifMatch.text);
      assert.equal(unmodified.status, 412, unmodified.text);
    }
    // What is satisfiable still is: a range, a matching precondition.
    const part = await fileRequest({ range: 'bytes=0-9' });
    assert.equal(part.status, 206);
    assert.equal(part.headers['content-range'], `bytes 0-9/${job.size}`);
    const etag = part.headers.etag as string;
    assert.equal((await fileRequest({ 'if-match': etag })).status, 200);
    assert.equal((await fileRequest({ 'if-none-match': etag })).status, 304);
  });

  it('the dashboard: dot segments, dotfiles and source maps are 404 in the error shape; its files are served', async () => {
    for (const p of ['/dashboard/../package.json', '/dashboard/%2e%2e/package.json', '/dashboard/.env', '/dashboard/.git/config', '/dashboard/assets/../../package.json', '/dashboard/assets/.hidden.js']) {
      const r = await rawRequest(srv.baseUrl, { method: 'GET', path: p });
      assertErrorShape(r, 404, 'not_found');
    }
    const index = await rawRequest(srv.baseUrl, { method: 'GET', path: '/dashboard/' });
    assert.equal(index.status, 200);
    const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(index.text)?.[1];
    assert.ok(script, 'index.html names its script');
    const js = await rawRequest(srv.baseUrl, { method: 'GET', path: script });
    assert.equal(js.status, 200);
    assert.ok(!js.text.includes('sourceMappingURL'), 'the bundle points at no source map');
    assertErrorShape(await rawRequest(srv.baseUrl, { method: 'GET', path: `${script}.map` }), 404, 'not_found');
    // The build makes none, and a map left by an older build is refused by the route all the same.
    const assets = path.join(ROOT, 'dist-web', 'assets');
    assert.deepEqual(fs.readdirSync(assets).filter((f) => f.endsWith('.map')), []);
  });

  it('a JSON body nested deeper than 64 levels is 400 bad_request naming the limit, on every route; 64 levels are parsed', async () => {
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    // The case: 50 000 levels (300 KB) under `request` of POST /v1/quote.
    const quote = await rawRequest(srv.baseUrl, { method: 'POST', path: '/v1/quote', headers: auth, body: `{"operation":"image","request":${deepObject(50_000)}}` });
    assertErrorShape(quote, 400, 'bad_request');
    assert.equal(quote.json.details.max_depth, 64);
    assert.match(quote.json.message, /64 levels/);
    for (const [p, body] of [
      ['/v1/generate/image', `{"prompt":"a fox","metadata":${deepObject(20_000)}}`],
      ['/v1/quote', '['.repeat(100_000) + ']'.repeat(100_000)],
      ['/v1/account/webhook', `{"url":null,"events":${'['.repeat(65) + ']'.repeat(65)}}`],
      ['/mcp', `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":${deepObject(30_000)}}`],
    ] as const) {
      const r = await rawRequest(srv.baseUrl, { method: p === '/v1/account/webhook' ? 'PUT' : 'POST', path: p, headers: { ...auth, accept: 'application/json, text/event-stream' }, body });
      assertErrorShape(r, 400, 'bad_request');
      assert.equal(r.json.details.max_depth, 64, p);
    }
    // The OpenAI-compatible route refuses it in OpenAI's shape.
    const openai = await rawRequest(srv.baseUrl, { method: 'POST', path: '/v1/images/generations', headers: auth, body: `{"prompt":"a fox","user":${deepObject(10_000)}}` });
    assert.equal(openai.status, 400, openai.text);
    assert.equal(openai.json.error.type, 'invalid_request_error');
    // Exactly 64 levels pass the parser: the answer is the schema's own (a wrong type), not the depth.
    const at = await rawRequest(srv.baseUrl, { method: 'POST', path: '/v1/quote', headers: auth, body: `{"operation":"image","request":{"prompt":"a fox","metadata":${deepObject(62)}}}` });
    assertErrorShape(at, 400, 'bad_request');
    assert.equal(at.json.details.max_depth, undefined, at.text);
  });

  it('Prefer: wait=9999999 is capped at 60, not ignored', async () => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a quick sunrise' }, headers: { prefer: 'wait=9999999' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('preference-applied'), 'wait=60');
    const huge = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a quick sunset' }, headers: { prefer: `wait=${'9'.repeat(400)}` } });
    assert.equal(huge.headers.get('preference-applied'), 'wait=60');
  });

  it('a job id in capitals names the same job for its owner, and stays 404 for another account', async () => {
    const upper = job.id.toUpperCase();
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${upper}`, { key });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.job_id, job.id, 'the id is shown as stored (lower case)');
    const urls = await api(srv.baseUrl, 'POST', `/v1/jobs/${upper}/urls`, { key });
    assert.equal(urls.status, 200, urls.text);
    const deliveries = await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${upper}`, { key });
    assert.equal(deliveries.status, 200, deliveries.text);
    const other = await srv.createKey('static-limits-other', '1');
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${upper}`, { key: other })).status, 404);
  });
});
