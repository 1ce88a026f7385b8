import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import sharp from 'sharp';
import { request } from 'undici';
import {
  checkTarget,
  classifyAddress,
  fetchImageGuarded,
  guardedRequest,
  isPublicAddress,
  UrlRefused,
  type ConnectAttempt,
  type GuardOptions,
  type Resolver,
} from '../../src/net/guarded-fetch.js';
import { createPinnedAgent } from '../../src/net/pinned-agent.js';

// ---------------------------------------------------------------------------------------------
// Independent witness: every outgoing TCP connection this process starts (net and tls both go
// through Socket.prototype.connect). Anything not on loopback is recorded and blocked before a
// packet leaves, so even a broken guard cannot make this test touch the network.
// ---------------------------------------------------------------------------------------------
const socketConnects: string[] = [];
const originalConnect = net.Socket.prototype.connect;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
(net.Socket.prototype as { connect: unknown }).connect = function (this: net.Socket, ...args: unknown[]) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const host = typeof first === 'object' && first !== null ? (first as { host?: string; path?: string }).host ?? (first as { path?: string }).path ?? 'localhost' : typeof args[1] === 'string' ? args[1] : 'localhost';
  socketConnects.push(host);
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`test witness blocked a connection to ${host}`);
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
};
after(() => {
  net.Socket.prototype.connect = originalConnect;
});

// ---------------------------------------------------------------------------------------------
// Local server on 127.0.0.1 standing in for "the Internet".
// ---------------------------------------------------------------------------------------------
const PNG_W = 37;
const PNG_H = 23;
const MAX = 200_000;
let png: Buffer;
let server: http.Server;
let port = 0;
let base = '';
const hits: { path: string; host: string | undefined; method: string | undefined }[] = [];
const timers = new Set<NodeJS.Timeout>();

function handler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  hits.push({ path: url.pathname, host: req.headers.host, method: req.method });
  const p = url.pathname;
  if (p === '/x.png' || p === '/image') {
    res.writeHead(200, { 'content-type': 'text/plain' }); // lies on purpose: bytes decide
    res.end(png);
  } else if (p === '/text.png') {
    res.writeHead(200, { 'content-type': 'image/png' });
    res.end('this is not a png at all');
  } else if (p === '/svg') {
    res.writeHead(200, { 'content-type': 'image/svg+xml' });
    res.end('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>');
  } else if (p === '/huge-cl') {
    // Declares 10 MB, sends 1 KB, then stalls: a client that tried to read it all would time out.
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(10_000_000) });
    res.write(Buffer.alloc(1024));
  } else if (p === '/huge-chunked') {
    res.writeHead(200, { 'content-type': 'image/png' }); // no Content-Length: chunked
    res.write(png);
    let sent = 0;
    const t = setInterval(() => {
      if (res.destroyed || sent > 50_000_000) return clearInterval(t);
      res.write(Buffer.alloc(64 * 1024));
      sent += 64 * 1024;
    }, 1);
    timers.add(t);
    res.on('close', () => clearInterval(t));
  } else if (p === '/slow') {
    const t = setTimeout(() => res.end(png), 10_000);
    timers.add(t);
    res.on('close', () => clearTimeout(t));
  } else if (p === '/drip') {
    res.writeHead(200, { 'content-type': 'image/png' });
    const t = setInterval(() => res.write(Buffer.alloc(10)), 50);
    timers.add(t);
    res.on('close', () => clearInterval(t));
  } else if (p.startsWith('/r/')) {
    const n = Number(p.slice(3));
    res.writeHead(n % 2 ? 302 : 301, { location: n > 1 ? `/r/${n - 1}` : `${base}/x.png` });
    res.end('moved');
  } else if (p === '/to') {
    res.writeHead(Number(url.searchParams.get('status') ?? 302), { location: url.searchParams.get('u') ?? '/' });
    res.end();
  } else if (p === '/404') {
    res.writeHead(404);
    res.end('nope');
  } else if (p === '/echo') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(201, { 'content-type': 'application/json', 'x-multi': ['a', 'b'] });
      res.end(JSON.stringify({ method: req.method, host: req.headers.host, auth: req.headers.authorization ?? null, body: Buffer.concat(chunks).toString() }));
    });
  } else if (p === '/500') {
    res.writeHead(500);
    res.end('boom');
  } else {
    res.writeHead(404);
    res.end();
  }
}

before(async () => {
  png = await sharp({ create: { width: PNG_W, height: PNG_H, channels: 3, background: '#3366cc' } }).png().toBuffer();
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
after(async () => {
  for (const t of timers) clearTimeout(t);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// Every connection attempt the guard's connector is asked to make.
let attempts: ConnectAttempt[] = [];
beforeEach(() => {
  attempts = [];
});

function opts(over: Partial<GuardOptions> = {}): GuardOptions {
  return { maxBytes: MAX, timeoutMs: 3000, maxRedirects: 3, allowLoopbackHttp: true, onConnect: (a) => attempts.push(a), ...over };
}

const staticResolver = (table: Record<string, string[]>, calls?: string[]): Resolver => async (host) => {
  calls?.push(host);
  const list = table[host];
  if (!list) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: net.isIP(address) === 6 ? 6 : 4 }));
};

async function refused(p: Promise<unknown>, reason: string, label?: string): Promise<UrlRefused> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof UrlRefused, `${label ?? ''}: expected UrlRefused, got ${String(e)}`);
    assert.equal(e.reason, reason, `${label ?? ''}: ${e.message}`);
    return e;
  }
  assert.fail(`${label ?? ''}: expected refusal '${reason}', but it succeeded`);
}

function onlyLoopback(): void {
  for (const a of attempts) assert.ok(a.address === '127.0.0.1' || a.address === '::1', `connector asked for ${a.address}`);
  for (const h of socketConnects) assert.ok(LOOPBACK_HOSTS.has(h), `socket connect to ${h}`);
}

// ---------------------------------------------------------------------------------------------
describe('fetchImageGuarded in test mode (allowLoopbackHttp = true)', () => {
  it('downloads and decodes a PNG, trusting the bytes over Content-Type', async () => {
    const r = await fetchImageGuarded(`${base}/x.png`, opts());
    assert.equal(r.format, 'png');
    assert.equal(r.contentType, 'image/png');
    assert.equal(r.width, PNG_W);
    assert.equal(r.height, PNG_H);
    assert.deepEqual(r.bytes, png);
    assert.equal(r.finalUrl, `${base}/x.png`);
    assert.deepEqual(attempts.map((a) => a.address), ['127.0.0.1']);
    onlyLoopback();
  });

  it('refuses text and SVG labelled as images: not_an_image', async () => {
    await refused(fetchImageGuarded(`${base}/text.png`, opts()), 'not_an_image');
    await refused(fetchImageGuarded(`${base}/svg`, opts()), 'not_an_image');
  });

  it('refuses a non-2xx answer: http_status', async () => {
    await refused(fetchImageGuarded(`${base}/404`, opts()), 'http_status');
  });

  it('refuses a declared oversize body without reading it: too_large', async () => {
    const t0 = Date.now();
    await refused(fetchImageGuarded(`${base}/huge-cl`, opts({ timeoutMs: 5000 })), 'too_large');
    assert.ok(Date.now() - t0 < 2000, 'must not wait for the body');
  });

  it('refuses a chunked body once it passes maxBytes: too_large', async () => {
    const t0 = Date.now();
    await refused(fetchImageGuarded(`${base}/huge-chunked`, opts({ timeoutMs: 5000 })), 'too_large');
    assert.ok(Date.now() - t0 < 2000, 'must stop as soon as the limit is passed');
  });

  it('times out on a server that never answers, and on one that never finishes: timeout', async () => {
    let t0 = Date.now();
    await refused(fetchImageGuarded(`${base}/slow`, opts({ timeoutMs: 300 })), 'timeout');
    assert.ok(Date.now() - t0 < 2000);
    t0 = Date.now();
    await refused(fetchImageGuarded(`${base}/drip`, opts({ timeoutMs: 300 })), 'timeout');
    assert.ok(Date.now() - t0 < 2000);
  });

  it('counts DNS time against the timeout', async () => {
    const never: Resolver = () => new Promise(() => {});
    await refused(fetchImageGuarded(`http://hang.test:${port}/x.png`, opts({ timeoutMs: 200, resolver: never })), 'timeout');
    assert.deepEqual(attempts, []);
  });

  it('passes a caller cancellation through as the caller’s own reason', async () => {
    const ac = new AbortController();
    const p = fetchImageGuarded(`${base}/slow`, opts({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error('job canceled')), 50);
    await assert.rejects(p, /job canceled/);
  });

  it('follows a redirect chain within the limit, re-checking every hop', async () => {
    const before = hits.length;
    const r = await fetchImageGuarded(`${base}/r/3`, opts({ maxRedirects: 3 }));
    assert.equal(r.width, PNG_W);
    assert.equal(r.finalUrl, `${base}/x.png`);
    assert.deepEqual(hits.slice(before).map((h) => h.path), ['/r/3', '/r/2', '/r/1', '/x.png']);
    assert.equal(attempts.length, 4, 'one pinned connection per hop');
    onlyLoopback();
  });

  it('refuses one redirect too many: too_many_redirects', async () => {
    const before = hits.length;
    await refused(fetchImageGuarded(`${base}/r/4`, opts({ maxRedirects: 3 })), 'too_many_redirects');
    assert.deepEqual(hits.slice(before).map((h) => h.path), ['/r/4', '/r/3', '/r/2', '/r/1']);
    await refused(fetchImageGuarded(`${base}/r/1`, opts({ maxRedirects: 0 })), 'too_many_redirects');
  });

  it('refuses redirects to private and metadata addresses without contacting them', async () => {
    const connectsBefore = socketConnects.length;
    for (const target of ['http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data', 'http://[fd00:ec2::254]/', 'http://192.168.1.1:8080/x', 'http://0x0a000001/']) {
      attempts = [];
      const before = hits.length;
      await refused(fetchImageGuarded(`${base}/to?u=${encodeURIComponent(target)}`, opts()), 'private_address', target);
      assert.deepEqual(hits.slice(before).map((h) => h.path), ['/to'], 'only the redirecting hop reached the server');
      assert.deepEqual(attempts.map((a) => a.address), ['127.0.0.1'], 'no connection attempt toward the redirect target');
    }
    assert.ok(socketConnects.slice(connectsBefore).every((h) => h === '127.0.0.1'));
    onlyLoopback();
  });

  it('refuses a redirect to a host name that resolves privately', async () => {
    const calls: string[] = [];
    const resolver = staticResolver({ 'evil.test': ['10.0.0.1'] }, calls);
    await refused(fetchImageGuarded(`${base}/to?u=${encodeURIComponent(`http://evil.test:${port}/x.png`)}`, opts({ resolver })), 'private_address');
    assert.deepEqual(calls, ['evil.test']);
    assert.deepEqual(attempts.map((a) => a.address), ['127.0.0.1']);
  });

  it('refuses a redirect to another scheme', async () => {
    await refused(fetchImageGuarded(`${base}/to?u=${encodeURIComponent('file:///etc/passwd')}`, opts()), 'scheme');
    await refused(fetchImageGuarded(`${base}/to?u=${encodeURIComponent('ftp://127.0.0.1/x')}`, opts()), 'scheme');
  });

  it('refuses a redirect to an https URL when https is off the table, and with credentials', async () => {
    await refused(fetchImageGuarded(`${base}/to?u=${encodeURIComponent(`http://u:p@127.0.0.1:${port}/x.png`)}`, opts()), 'credentials');
  });

  it('pins the connection to the address it checked; Host keeps the original name', async () => {
    const calls: string[] = [];
    const before = hits.length;
    const r = await fetchImageGuarded(`http://img.test:${port}/x.png`, opts({ resolver: staticResolver({ 'img.test': ['127.0.0.1'] }, calls) }));
    assert.equal(r.width, PNG_W);
    assert.deepEqual(calls, ['img.test'], 'exactly one lookup');
    assert.deepEqual(attempts, [{ address: '127.0.0.1', port, host: 'img.test', protocol: 'http:' }]);
    assert.equal(hits[before]?.host, `img.test:${port}`);
  });

  it('defeats DNS rebinding: the second answer is never asked for, let alone used', async () => {
    let n = 0;
    const rebinding: Resolver = async () => (n++ === 0 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '10.0.0.1', family: 4 }]);
    const r = await fetchImageGuarded(`http://rebind.test:${port}/x.png`, opts({ resolver: rebinding }));
    assert.equal(r.width, PNG_W);
    assert.equal(n, 1);
    onlyLoopback();
    // And each hop does its own lookup, so a redirect back to the same name sees the new answer.
    n = 0;
    await refused(fetchImageGuarded(`http://rebind.test:${port}/to?u=${encodeURIComponent(`http://rebind.test:${port}/x.png`)}`, opts({ resolver: rebinding })), 'private_address');
    assert.equal(n, 2);
    onlyLoopback();
  });

  it('reaches an IPv6 loopback literal (brackets stripped consistently)', async (t) => {
    const v6 = http.createServer(handler);
    try {
      await new Promise<void>((resolve, reject) => {
        v6.once('error', reject);
        v6.listen(0, '::1', resolve);
      });
    } catch {
      return t.skip('no IPv6 loopback here');
    }
    try {
      const p6 = (v6.address() as net.AddressInfo).port;
      const r = await fetchImageGuarded(`http://[::1]:${p6}/x.png`, opts());
      assert.equal(r.width, PNG_W);
      assert.deepEqual(attempts.map((a) => [a.address, a.host]), [['::1', '::1']]);
    } finally {
      v6.closeAllConnections();
      await new Promise<void>((resolve) => v6.close(() => resolve()));
    }
  });

  it('still refuses every non-loopback private range in test mode', async () => {
    for (const u of ['http://10.0.0.1/', 'http://172.16.0.1/', 'http://192.168.0.1/', 'http://169.254.169.254/', 'http://100.64.0.1/', 'http://[fc00::1]/', 'http://[fe80::1]/', 'http://0.0.0.0/', 'http://[::]/']) {
      await refused(fetchImageGuarded(u, opts()), 'private_address', u);
    }
    assert.deepEqual(attempts, []);
  });
});

// ---------------------------------------------------------------------------------------------
describe('fetchImageGuarded in production mode (allowLoopbackHttp = false)', () => {
  const resolverCalls: string[] = [];
  const noDns: Resolver = async (host) => {
    resolverCalls.push(host);
    throw new Error('DNS must not be consulted for this URL');
  };
  const prod = (over: Partial<GuardOptions> = {}) => opts({ allowLoopbackHttp: false, resolver: noDns, ...over });

  it('refuses every disguise of a private or loopback address before any connection', async () => {
    const cases: [string, string][] = [
      [`http://127.0.0.1:${port}/x.png`, 'scheme'],
      ['http://example.com/x.png', 'scheme'],
      ['ftp://example.com/x.png', 'scheme'],
      ['file:///etc/passwd', 'scheme'],
      ['data:image/png;base64,iVBORw0KGgo=', 'scheme'],
      ['gopher://127.0.0.1:6379/_INFO', 'scheme'],
      ['https://127.0.0.1/', 'private_address'],
      [`https://127.0.0.1:${port}/x.png`, 'private_address'],
      ['https://10.0.0.1/', 'private_address'],
      ['https://169.254.169.254/latest/meta-data', 'private_address'],
      ['https://[::1]/', 'private_address'],
      ['https://[::ffff:127.0.0.1]/', 'private_address'],
      ['https://[::ffff:7f00:1]/', 'private_address'],
      ['https://[::ffff:a00:1]/', 'private_address'],
      ['https://[0:0:0:0:0:ffff:169.254.169.254]/', 'private_address'],
      ['https://[::127.0.0.1]/', 'private_address'],
      ['https://2130706433/', 'private_address'],
      ['https://0x7f000001/', 'private_address'],
      ['https://0177.0.0.1/', 'private_address'],
      ['https://127.1/', 'private_address'],
      ['https://0x7f.1/', 'private_address'],
      ['https://017700000001/', 'private_address'],
      ['https://127.0.0.1./', 'private_address'],
      ['https://0/', 'private_address'],
      ['https://[fe80::1]/', 'private_address'],
      ['https://[fc00::1]/', 'private_address'],
      ['https://[fd00:ec2::254]/', 'private_address'],
      ['https://[64:ff9b::a9fe:a9fe]/', 'private_address'],
      ['https://[2002:7f00:1::1]/', 'private_address'],
      ['https://[2001:db8::1]/', 'private_address'],
      ['https://100.64.0.1/', 'private_address'],
      ['https://100.100.100.200/', 'private_address'],
      ['https://192.0.2.1/', 'private_address'],
      ['https://224.0.0.1/', 'private_address'],
      ['https://255.255.255.255/', 'private_address'],
      ['https://user:pw@example.com/', 'credentials'],
      ['https://user@example.com/', 'credentials'],
      ['https://:pw@example.com/', 'credentials'],
      ['not a url', 'bad_url'],
      ['https://', 'bad_url'],
      ['https://1.2.3.256/', 'bad_url'],
      ['', 'bad_url'],
    ];
    const hitsBefore = hits.length;
    const connectsBefore = socketConnects.length;
    for (const [u, reason] of cases) {
      await refused(fetchImageGuarded(u, prod()), reason, u);
      await refused(checkTarget(u, { allowLoopbackHttp: false, resolver: noDns }), reason, `checkTarget ${u}`);
    }
    assert.deepEqual(attempts, [], 'the connector was never asked to connect');
    assert.equal(hits.length, hitsBefore, 'the server saw nothing');
    assert.equal(socketConnects.length, connectsBefore, 'no socket was opened at all');
    assert.deepEqual(resolverCalls, [], 'IP literals and refused URLs never reach DNS');
  });

  it('refuses a host name that resolves to loopback', async () => {
    const resolver = staticResolver({ 'sneaky.test': ['127.0.0.1'] });
    await refused(fetchImageGuarded('https://sneaky.test/x.png', prod({ resolver })), 'private_address');
    assert.deepEqual(attempts, []);
  });

  it('refuses a host name with one public and one private address, in either order', async () => {
    for (const list of [['93.184.216.34', '10.0.0.5'], ['10.0.0.5', '93.184.216.34'], ['2606:2800:220:1:248:1893:25c8:1946', '::1'], ['93.184.216.34', '::ffff:192.168.0.1']]) {
      const resolver = staticResolver({ 'mixed.test': list });
      await refused(fetchImageGuarded('https://mixed.test/', prod({ resolver })), 'private_address', list.join(','));
    }
    assert.deepEqual(attempts, []);
  });

  it('refuses what the resolver cannot answer, or answers with garbage', async () => {
    await refused(fetchImageGuarded('https://nowhere.test/', prod({ resolver: staticResolver({}) })), 'dns_failed');
    await refused(fetchImageGuarded('https://empty.test/', prod({ resolver: staticResolver({ 'empty.test': [] }) })), 'dns_failed');
    await refused(fetchImageGuarded('https://junk.test/', prod({ resolver: staticResolver({ 'junk.test': ['not-an-ip'] }) })), 'private_address');
    await refused(fetchImageGuarded('https://zone.test/', prod({ resolver: staticResolver({ 'zone.test': ['fe80::1%eth0'] }) })), 'private_address');
    assert.deepEqual(attempts, []);
  });

  it('lets a host name with only public addresses through the check, pinned to the first (no fetch)', async () => {
    const calls: string[] = [];
    const resolver = staticResolver({ 'example.test': ['93.184.216.34', '93.184.216.35'] }, calls);
    const t = await checkTarget('https://Example.TEST:8443/a/b.png?x=1', { allowLoopbackHttp: false, resolver });
    assert.equal(t.address, '93.184.216.34');
    assert.equal(t.family, 4);
    assert.equal(t.host, 'example.test');
    assert.equal(t.port, 8443);
    assert.equal(t.url.href, 'https://example.test:8443/a/b.png?x=1');
    assert.deepEqual(calls, ['example.test']);
    const v6 = await checkTarget('https://v6.test/', { allowLoopbackHttp: false, resolver: staticResolver({ 'v6.test': ['2606:2800:220:1:248:1893:25c8:1946'] }) });
    assert.deepEqual([v6.address, v6.family, v6.port], ['2606:2800:220:1:248:1893:25c8:1946', 6, 443]);
    const lit = await checkTarget('https://[2606:4700::1111]/', { allowLoopbackHttp: false, resolver: noDns });
    assert.deepEqual([lit.host, lit.address, lit.family], ['2606:4700::1111', '2606:4700::1111', 6]);
    assert.deepEqual(resolverCalls, []);
    assert.deepEqual(attempts, []);
  });
});

// ---------------------------------------------------------------------------------------------
describe('checkTarget loopback handling', () => {
  it('test mode allows only loopback among the non-public ranges, in every spelling', async () => {
    for (const u of ['http://127.0.0.1:1/', 'http://127.5.6.7/', 'http://[::1]:1/', 'http://[::ffff:127.0.0.1]/', 'http://2130706433/', 'http://127.1/']) {
      const t = await checkTarget(u, { allowLoopbackHttp: true });
      assert.equal(classifyAddress(t.address), 'loopback', u);
    }
  });
});

// ---------------------------------------------------------------------------------------------
describe('guardedRequest (webhook-style)', () => {
  it('POSTs through the guard and returns any status with headers and body', async () => {
    const r = await guardedRequest(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', Host: 'spoofed.example' }, body: '{"a":1}' }, opts());
    assert.equal(r.status, 201);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-multi'], 'a, b');
    const echo = JSON.parse(r.body.toString());
    assert.deepEqual(echo, { method: 'POST', host: `127.0.0.1:${port}`, auth: null, body: '{"a":1}' });
    const e = await guardedRequest(`${base}/500`, { method: 'POST', body: 'x' }, opts());
    assert.equal(e.status, 500);
    assert.equal(e.body.toString(), 'boom');
  });

  it('307 replays method and body; 303 continues as a body-less GET', async () => {
    const r307 = await guardedRequest(`${base}/to?status=307&u=/echo`, { method: 'POST', body: 'payload' }, opts());
    assert.deepEqual(JSON.parse(r307.body.toString()).method, 'POST');
    assert.deepEqual(JSON.parse(r307.body.toString()).body, 'payload');
    const r303 = await guardedRequest(`${base}/to?status=303&u=/echo`, { method: 'POST', body: 'payload' }, opts());
    assert.deepEqual(JSON.parse(r303.body.toString()).method, 'GET');
    assert.deepEqual(JSON.parse(r303.body.toString()).body, '');
  });

  it('drops credentials when a redirect changes origin, keeps them on the same origin', async () => {
    const resolver = staticResolver({ 'other.test': ['127.0.0.1'] });
    const same = await guardedRequest(`${base}/to?status=307&u=/echo`, { method: 'GET', headers: { Authorization: 'Bearer s3cret' } }, opts({ resolver }));
    assert.equal(JSON.parse(same.body.toString()).auth, 'Bearer s3cret');
    const cross = await guardedRequest(`${base}/to?status=307&u=${encodeURIComponent(`http://other.test:${port}/echo`)}`, { method: 'GET', headers: { Authorization: 'Bearer s3cret' } }, opts({ resolver }));
    const echo = JSON.parse(cross.body.toString());
    assert.equal(echo.auth, null);
    assert.equal(echo.host, `other.test:${port}`);
  });

  it('applies the same address checks and size limit', async () => {
    const before = hits.length;
    await refused(guardedRequest('https://169.254.169.254/latest/api/token', { method: 'PUT' }, opts({ allowLoopbackHttp: false })), 'private_address');
    await refused(guardedRequest(`${base}/to?status=307&u=${encodeURIComponent('http://10.1.2.3/hook')}`, { method: 'POST', body: 'x' }, opts()), 'private_address');
    assert.deepEqual(hits.slice(before).map((h) => h.path), ['/to']);
    await refused(guardedRequest(`${base}/huge-chunked`, { method: 'GET' }, opts({ maxBytes: 1000 })), 'too_large');
    onlyLoopback();
  });
});

// ---------------------------------------------------------------------------------------------
describe('pinned agent', () => {
  it('refuses to serve an origin it was not built for, without connecting', async () => {
    const target = await checkTarget(`${base}/x.png`, { allowLoopbackHttp: true });
    const agent = createPinnedAgent(target, { connectTimeoutMs: 1000, onConnect: (a) => attempts.push(a) });
    try {
      const connectsBefore = socketConnects.length;
      await assert.rejects(request(`http://127.0.0.1:${port + 1 === 65536 ? 1 : port + 1}/`, { dispatcher: agent }), (e: unknown) => e instanceof UrlRefused);
      await assert.rejects(request(`http://other.test:${port}/`, { dispatcher: agent }), (e: unknown) => e instanceof UrlRefused);
      assert.equal(socketConnects.length, connectsBefore);
      assert.deepEqual(attempts, []);
    } finally {
      await agent.destroy();
    }
  });

  describe('over TLS', () => {
    let dir = '';
    let cert = '';
    let tlsServer: https.Server | undefined;
    let tlsPort = 0;
    const seen: { servername: string | false | null; host: string | undefined }[] = [];

    before(async () => {
      try {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-guard-'));
        execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=img.test', '-addext', 'subjectAltName=DNS:img.test', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
      } catch {
        return; // no openssl: the TLS cases skip themselves
      }
      cert = fs.readFileSync(path.join(dir, 'cert.pem'), 'utf8');
      tlsServer = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert }, (req, res) => {
        seen.push({ servername: (req.socket as TLSSocket).servername, host: req.headers.host });
        res.end(png);
      });
      await new Promise<void>((resolve) => tlsServer!.listen(0, '127.0.0.1', resolve));
      tlsPort = (tlsServer.address() as net.AddressInfo).port;
    });
    after(async () => {
      if (tlsServer) {
        tlsServer.closeAllConnections();
        await new Promise<void>((resolve) => tlsServer!.close(() => resolve()));
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('connects to the pinned IP with SNI and certificate check for the original host name', async (t) => {
      if (!tlsServer) return t.skip('openssl not available');
      const resolver = staticResolver({ 'img.test': ['127.0.0.1'], 'wrong.test': ['127.0.0.1'] });
      const target = await checkTarget(`https://img.test:${tlsPort}/x.png`, { allowLoopbackHttp: true, resolver });
      const agent = createPinnedAgent(target, { connectTimeoutMs: 2000, ca: cert, onConnect: (a) => attempts.push(a) });
      try {
        const res = await request(target.url, { dispatcher: agent });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(Buffer.from(await res.body.arrayBuffer()), png);
      } finally {
        await agent.destroy();
      }
      assert.deepEqual(seen, [{ servername: 'img.test', host: `img.test:${tlsPort}` }]);
      assert.deepEqual(attempts.map((a) => [a.address, a.host]), [['127.0.0.1', 'img.test']]);

      // Same pinned IP, different name: the certificate is checked against the name, so it fails.
      const wrong = await checkTarget(`https://wrong.test:${tlsPort}/x.png`, { allowLoopbackHttp: true, resolver });
      const agent2 = createPinnedAgent(wrong, { connectTimeoutMs: 2000, ca: cert });
      try {
        await assert.rejects(request(wrong.url, { dispatcher: agent2 }), /altnames|ERR_TLS_CERT_ALTNAME_INVALID|Hostname/i);
      } finally {
        await agent2.destroy();
      }
      onlyLoopback();
    });
  });
});

// ---------------------------------------------------------------------------------------------
describe('isPublicAddress', () => {
  const table: [string, boolean][] = [
    // public
    ['93.184.216.34', true],
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['100.63.255.255', true],
    ['100.128.0.0', true],
    ['172.15.255.255', true],
    ['172.32.0.0', true],
    ['192.167.255.255', true],
    ['169.253.255.255', true],
    ['2606:4700::1111', true],
    ['2001:4860:4860::8888', true],
    ['2a00:1450:4001:80b::200e', true],
    ['::ffff:93.184.216.34', true],
    ['::ffff:5db8:d822', true],
    // IPv4 non-public
    ['0.0.0.0', false],
    ['0.1.2.3', false],
    ['10.0.0.1', false],
    ['10.255.255.255', false],
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['169.254.169.254', false],
    ['169.254.0.1', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['192.0.0.1', false],
    ['192.0.2.1', false],
    ['192.88.99.1', false],
    ['192.168.1.1', false],
    ['198.18.0.1', false],
    ['198.19.255.255', false],
    ['198.51.100.7', false],
    ['203.0.113.9', false],
    ['224.0.0.1', false],
    ['239.255.255.250', false],
    ['240.0.0.1', false],
    ['255.255.255.255', false],
    // IPv6 non-public
    ['::', false],
    ['::1', false],
    ['0:0:0:0:0:0:0:1', false],
    ['::ffff:127.0.0.1', false],
    ['::ffff:7f00:1', false],
    ['::ffff:10.0.0.1', false],
    ['::ffff:169.254.169.254', false],
    ['::ffff:100.64.0.1', false],
    ['::ffff:0:7f00:1', false], // IPv4-translated (RFC 6145)
    ['::7f00:1', false], // deprecated IPv4-compatible
    ['::8.8.8.8', false], // IPv4-compatible, not mapped (ipaddr.js alone gets this wrong)
    ['::127.0.0.1', false],
    ['fe80::1', false],
    ['fe80::1%eth0', false],
    ['febf::1', false],
    ['fec0::1', false],
    ['fc00::1', false],
    ['fd12:3456:789a::1', false],
    ['fd00:ec2::254', false],
    ['ff02::1', false],
    ['ff05::2', false],
    ['64:ff9b::7f00:1', false],
    ['64:ff9b::808:808', false],
    ['64:ff9b:1::1', false],
    ['2002:7f00:1::1', false],
    ['2002:0808:0808::1', false],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', false], // Teredo
    ['2001:db8::1', false],
    ['3fff::1', false],
    ['100::1', false],
    ['5f00::1', false],
    ['4000::1', false],
    // not canonical addresses at all: fail closed
    ['2130706433', false],
    ['0x7f000001', false],
    ['0177.0.0.1', false],
    ['127.1', false],
    ['[::1]', false],
    ['localhost', false],
    ['', false],
    ['1.2.3.4.5', false],
  ];
  for (const [ip, expected] of table) {
    it(`${JSON.stringify(ip)} → ${expected ? 'public' : 'not public'}`, () => {
      assert.equal(isPublicAddress(ip), expected);
    });
  }
  it('classifies loopback separately so test mode can allow exactly that', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1']) assert.equal(classifyAddress(ip), 'loopback', ip);
    for (const ip of ['10.0.0.1', 'fe80::1', '::ffff:0:7f00:1', '64:ff9b::7f00:1', '::7f00:1', '::127.0.0.1', '0.0.0.0', '::']) assert.equal(classifyAddress(ip), 'blocked', ip);
  });
});
