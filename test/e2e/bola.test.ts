import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { EaselProcess, MODE, ROOT, S3_CREDS, S3_ENDPOINT, api, download, waitFor } from '../helpers/server.js';
import { containsUri, errorOf, fillPath, operationsOf, sampleOf, type Operation } from '../helpers/openapi.js';
import { multipart, rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * Access control, proven over every route of the served OpenAPI document:
 *  - every {id}-style route answers another account's resource exactly as it answers an id that
 *    does not exist (404), never 403 or 2xx;
 *  - every non-public route refuses a missing, unknown, malformed or revoked key (401);
 *  - signed file URLs: tampering, replay after expiry and path traversal are refused;
 *  - API keys never reach the logs, wherever a client puts them;
 *  - security headers on every response; HSTS only behind an https public URL.
 */
const UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CSP = "default-src 'none'; frame-ancestors 'none'";

interface Seen {
  what: string;
  authenticated: boolean;
  res: RawResponse;
}

describe(`access control over every route (${MODE})`, () => {
  let srv: EaselProcess;
  let alice: string;
  let bob: string;
  let revoked: string;
  let ops: Operation[] = [];
  let aliceImageUrl = '';
  let aliceImagePng: Buffer = Buffer.alloc(0);
  const seen: Seen[] = [];
  const report: Record<string, unknown> = { mode: MODE };

  /** One request over node:http (the path is sent as given); every answer is kept for the header checks. */
  const call = async (what: string, method: string, p: string, opts: { key?: string; headers?: Record<string, string>; body?: string | Buffer; contentType?: string } = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    if (opts.contentType) headers['content-type'] = opts.contentType;
    const res = await rawRequest(srv.baseUrl, { method, path: p, headers, body: opts.body });
    seen.push({ what: `${method} ${p} (${what})`, authenticated: !!opts.key, res });
    return res;
  };

  /** A request an operation accepts as far as its shape goes: the schema's sample body, or a multipart file. */
  const bodyFor = (op: Operation): { body?: string | Buffer; contentType?: string } => {
    if (op.bodyTypes.some((t) => t.startsWith('multipart/'))) {
      const fields = Object.entries<any>(op.bodySchema?.properties ?? {});
      const name = fields.find(([, s]) => s.format === 'binary')?.[0] ?? 'image';
      const m = multipart([{ name, filename: 'input.png', contentType: 'image/png', data: aliceImagePng }]);
      return { body: m.body, contentType: m.contentType };
    }
    if (op.bodyTypes.length === 0) return {};
    const schema = op.bodySchema ?? ops.find((o) => o === op)?.bodySchema;
    return { body: JSON.stringify(sampleOf(schema ?? {}, 0, { uri: aliceImageUrl }) ?? {}), contentType: 'application/json' };
  };

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_RATE_LIMIT_PER_MIN: '100000', EASEL_MAX_CONCURRENT_JOBS: '100', EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    [alice, bob, revoked] = await Promise.all([srv.createKey('bola-alice', '50'), srv.createKey('bola-bob', '50'), srv.createKey('bola-carol', '5')]);
    assert.equal((await srv.cli(['keys', 'revoke', 'bola-carol'])).code, 0);
    ops = operationsOf((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
    const img = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: alice, body: { prompt: 'a private lighthouse' } });
    assert.equal(img.status, 200, img.text);
    aliceImageUrl = img.body.formats.png.url;
    aliceImagePng = (await download(aliceImageUrl)).bytes;
  });
  after(async () => {
    await srv?.stop();
  });

  it('every {id} route answers another account’s resource as it answers a missing one: 404, never 403 or 2xx', async (t) => {
    // Alice creates what she can through every parameterless write of the document (generically: the
    // schema's sample body, her own image as any input URL), then lists what she has.
    const owned = new Set<string>();
    for (const op of ops.filter((o) => o.method === 'POST' && o.pathParams.length === 0 && !o.public)) {
      const res = await call('alice creates', op.method, op.template, { key: alice, ...bodyFor(op) });
      for (const id of res.text.match(UUID_RE) ?? []) owned.add(id);
      const jobId = res.headers['x-easel-job-id'];
      if (typeof jobId === 'string') owned.add(jobId);
    }
    for (const op of ops.filter((o) => o.method === 'GET' && o.pathParams.length === 0 && !o.public)) {
      const res = await call('alice lists', 'GET', op.template, { key: alice });
      for (const id of res.text.match(UUID_RE) ?? []) owned.add(id);
    }
    const bobProfile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: bob })).body.user;
    owned.delete(bobProfile.id);
    assert.ok(owned.size >= 2, `alice owns resources to probe (${owned.size})`);
    const ids = [...owned].slice(0, 40);

    const idRoutes = ops.filter((o) => o.pathParams.length > 0);
    assert.ok(idRoutes.length >= 2, 'the document has {id} routes');
    const perRoute: Record<string, { probed: number; ownerSees: number; statuses: Record<string, number> }> = {};
    for (const op of idRoutes) {
      const route = `${op.method} ${op.template}`;
      const r = (perRoute[route] = { probed: 0, ownerSees: 0, statuses: {} as Record<string, number> });
      const b = bodyFor(op);
      const missing = await call('bob, missing id', op.method, fillPath(op.template, {}), { key: bob, ...b });
      assert.ok(missing.status < 500 && missing.status !== 403 && missing.status >= 400, `${route} with a missing id: ${missing.status} ${missing.text}`);
      for (const id of ids) {
        const p = fillPath(op.template, Object.fromEntries(op.pathParams.map((pp) => [pp.name, id])));
        const res = await call('bob probes alice', op.method, p, { key: bob, ...b });
        r.probed++;
        r.statuses[res.status] = (r.statuses[res.status] ?? 0) + 1;
        assert.ok(res.status !== 403 && (res.status < 200 || res.status >= 300), `${route} gave bob alice's ${id}: ${res.status} ${res.text.slice(0, 300)}`);
        assert.equal(res.status, missing.status, `${route}: alice's ${id} is indistinguishable from a missing id for bob`);
        assert.equal(res.json?.error, missing.json?.error, `${route}: same error code as a missing id`);
        if (missing.status === 404) assert.equal(res.status, 404);
        if (op.method === 'GET') {
          const own = await call('alice reads her own', 'GET', p, { key: alice });
          if (own.status === 200) r.ownerSees++;
        }
      }
      t.diagnostic(`${route}: ${r.probed} of alice's ids probed with bob's key → ${JSON.stringify(r.statuses)}; alice herself reads ${r.ownerSees}`);
    }
    // The probe is meaningful: on the job routes alice's own ids do resolve for her.
    for (const route of Object.keys(perRoute).filter((k) => /^GET \/v1\/(jobs|generate\/story)\/\{id\}$/.test(k))) {
      assert.ok(perRoute[route]!.ownerSees >= 1, `${route}: alice can read her own resources`);
    }
    report.bola = { ownedIds: ids.length, routes: perRoute, refused: Object.values(perRoute).reduce((n, r) => n + r.probed, 0) };
  });

  it('every non-public route refuses a missing, unknown, malformed or revoked key with 401; public routes answer without one', async () => {
    let refused = 0;
    for (const op of ops) {
      const p = fillPath(op.template, {});
      const b = bodyFor(op);
      if (op.public) {
        const res = await call('no key, public', op.method, p, b);
        assert.notEqual(res.status, 401, `${op.method} ${op.template} is public`);
        continue;
      }
      for (const [label, headers] of [
        ['no key', {}],
        ['unknown key', { authorization: `Bearer esl_${'A'.repeat(43)}` }],
        ['malformed', { authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` }],
        ['revoked key', { authorization: `Bearer ${revoked}` }],
        ['key without scheme', { authorization: alice }],
      ] as const) {
        const res = await call(label, op.method, p, { headers: { ...headers }, ...b });
        assert.equal(res.status, 401, `${op.method} ${op.template} with ${label}: ${res.status} ${res.text.slice(0, 200)}`);
        const err = errorOf(res.json);
        assert.equal(err.code, 'auth_invalid');
        assert.equal(err.requestId, res.headers['x-request-id']);
        refused++;
      }
    }
    // Routes the document does not list (operator and file routes) keep their own rules.
    assert.equal((await call('metrics, no token configured', 'GET', '/metrics')).status, 200);
    assert.equal((await call('openapi', 'GET', '/v1/openapi.json')).status, 200);
    report.unauthenticated = { operations: ops.length, refused };
  });

  it('signed file URLs: tampering, replay after expiry and path traversal are refused', async () => {
    const url = new URL(aliceImageUrl);
    const refusedCases: string[] = [];
    const expectRefused = async (label: string, target: string) => {
      const r = await download(target);
      assert.equal(r.status, 403, `${label}: ${target} → ${r.status}`);
      refusedCases.push(label);
    };
    if (MODE === 'embedded') {
      const key = url.pathname.replace(/^\/files\//, '');
      const sig = url.searchParams.get('sig')!;
      const exp = Number(url.searchParams.get('exp'));
      const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
      await expectRefused('signature altered', `${url.origin}${url.pathname}?exp=${exp}&sig=${flip(sig)}`);
      await expectRefused('expiry extended', `${url.origin}${url.pathname}?exp=${exp + 3600}&sig=${sig}`);
      await expectRefused('other file, same signature', `${url.origin}${url.pathname.replace('image.png', 'image.webp')}?exp=${exp}&sig=${sig}`);
      await expectRefused('signature removed', `${url.origin}${url.pathname}?exp=${exp}`);
      await expectRefused('signature truncated', `${url.origin}${url.pathname}?exp=${exp}&sig=${sig.slice(0, 20)}`);
      const secret = Buffer.from(JSON.parse(fs.readFileSync(path.join(srv.dataDir, 'secrets.json'), 'utf8')).url_signing_key, 'base64');
      const past = Math.floor(Date.now() / 1000) - 5;
      const replay = await download(`${url.origin}${url.pathname}?exp=${past}&sig=${crypto.createHmac('sha256', secret).update(`${key}\n${past}`).digest('base64url')}`);
      assert.equal(replay.status, 403, 'a correctly signed URL replayed after its expiry');
      refusedCases.push('replay after expiry');
    } else {
      await expectRefused('signature altered', aliceImageUrl.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`));
      await expectRefused('expiry extended', aliceImageUrl.replace(/X-Amz-Expires=(\d+)/, (_m, n: string) => `X-Amz-Expires=${Number(n) + 3600}`));
      await expectRefused('other object, same signature', aliceImageUrl.replace('image.png', 'image.webp'));
      const s3 = new S3Client({ region: 'us-east-1', endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: S3_CREDS });
      const [, bucket, ...rest] = url.pathname.split('/');
      const expired = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: decodeURIComponent(rest.join('/')) }), {
        expiresIn: 60,
        signingDate: new Date(Date.now() - 3600_000),
      });
      await expectRefused('replay after expiry (presigned an hour ago for 60 s)', expired);
    }

    // Traversal out of the blob folder through the API's file route, in both modes, with junk and
    // with genuinely valid signatures (the signing key is read from the data directory): the key
    // check refuses them before any file is touched.
    const secretFile = path.join(srv.dataDir, 'secrets.json');
    const secret = fs.existsSync(secretFile) ? Buffer.from(JSON.parse(fs.readFileSync(secretFile, 'utf8')).url_signing_key, 'base64') : crypto.randomBytes(32);
    const future = Math.floor(Date.now() / 1000) + 3600;
    const traversals = [
      '..%2f..%2fsecrets.json',
      '..%2F..%2Feasel.sqlite',
      '%2e%2e/%2e%2e/secrets.json',
      '%2e%2e%2f%2e%2e%2fsecrets.json',
      'jobs/../../secrets.json',
      'jobs/%2e%2e/%2e%2e/secrets.json',
      '%252e%252e%252fsecrets.json',
      '..%5c..%5csecrets.json',
      '%c0%ae%c0%ae/%c0%ae%c0%ae/secrets.json',
      '/etc/passwd',
      '%2fetc%2fpasswd',
      'jobs/x%00.png',
      '.%2e/secrets.json',
      '../secrets.json',
      'secrets.json',
      'easel.sqlite',
    ];
    let traversalRefused = 0;
    for (const t of traversals) {
      let decoded = t;
      try {
        decoded = decodeURIComponent(t);
      } catch {
        /* keep raw */
      }
      for (const query of [`exp=${future}&sig=x`, `exp=${future}&sig=${crypto.createHmac('sha256', secret).update(`${decoded}\n${future}`).digest('base64url')}`]) {
        const res = await call('traversal', 'GET', `/files/${t}?${query}`);
        assert.ok([400, 403, 404].includes(res.status), `/files/${t} → ${res.status}`);
        assert.ok(!res.text.includes('url_signing_key') && !res.text.includes('SQLite format') && !res.text.includes('root:'), `/files/${t} leaked a file`);
        traversalRefused++;
      }
    }
    report.signedUrls = { refused: refusedCases, traversalRefused };
  });

  it('API keys never reach the logs, wherever a client puts them', async () => {
    // Keys in places a careless client might put them: query, path, request id, odd headers.
    await call('key in query', 'GET', `/v1/jobs?api_key=${alice}`, { key: bob });
    await call('key in path', 'GET', `/v1/jobs/${alice}`, { key: bob });
    await call('key as request id', 'GET', '/v1/jobs', { key: bob, headers: { 'x-request-id': alice } });
    await call('key in basic auth', 'GET', '/v1/jobs', { headers: { authorization: `Basic ${alice}` } });
    await call('key with junk', 'GET', '/v1/jobs', { headers: { authorization: `Bearer ${alice} junk` } });
    await call('key in unknown route', 'GET', `/v1/${alice}/x?k=${alice}`, { key: alice });
    await call('key in body', 'POST', '/v1/generate/image', { key: bob, body: JSON.stringify({ prompt: alice }), contentType: 'application/json' });
    await call('key in a bad URL', 'GET', `/v1/jobs/%E0%A4%A?key=${alice}`, { key: bob });
    const logs = srv.logs.join('\n');
    assert.ok(logs.length > 1000, 'the server logged');
    const keys = [alice, bob, revoked];
    for (const k of keys) {
      assert.ok(!logs.includes(k), 'a full key appears in the logs');
      assert.ok(!logs.includes(k.slice(4)), 'a key body appears in the logs');
    }
    report.keysInLogs = { keys: keys.length, logLines: srv.logs.length, leaks: 0 };
  });

  it('security headers on every response; no-store on authenticated answers; no HSTS on plain http', async () => {
    assert.ok(seen.length > 50);
    for (const s of seen) {
      const h = s.res.headers;
      assert.equal(h['x-content-type-options'], 'nosniff', s.what);
      assert.equal(h['referrer-policy'], 'no-referrer', s.what);
      assert.equal(h['x-frame-options'], 'DENY', s.what);
      assert.equal(h['strict-transport-security'], undefined, `${s.what}: no HSTS on plain http`);
      assert.ok(typeof h['x-request-id'] === 'string', s.what);
      if (String(h['content-type'] ?? '').includes('json')) assert.equal(h['content-security-policy'], CSP, s.what);
      if (s.authenticated) assert.equal(h['cache-control'], 'no-store', s.what);
    }
    report.headers = { responsesChecked: seen.length };
    const dir = path.join(ROOT, 'test-artifacts');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `bola-${MODE}.json`), JSON.stringify(report, null, 2));
  });
});

/**
 * SSRF through the API: every operation whose body takes a URL (found in the OpenAPI document)
 * gets internal targets in each URL field — loopback in every spelling, the metadata address,
 * private ranges, other schemes, credentials. Production settings (no loopback allowance); a
 * canary server on loopback counts any connection that gets through.
 */
describe(`SSRF through every URL-taking endpoint; HSTS behind https (${MODE})`, () => {
  it('internal targets are refused before any connection; nothing is charged; HSTS is sent', async (t) => {
    const hits: string[] = [];
    const canary = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(64));
    });
    await new Promise<void>((r) => canary.listen(0, '127.0.0.1', () => r()));
    const port = (canary.address() as AddressInfo).port;
    // Production-like: no loopback allowance, and an https public URL (so HSTS is checked here too).
    const srv = await EaselProcess.start({ env: { EASEL_RATE_LIMIT_PER_MIN: '100000', EASEL_PUBLIC_URL: 'https://easel.example' } });
    try {
      // baseUrl is the public URL; talk to the loopback address the server actually listens on.
      const base = JSON.parse(srv.logs.find((l) => l.includes('"easel listening"'))!).address as string;
      const key = await srv.createKey('ssrf', '20');
      for (const [p, k] of [['/health', undefined], ['/v1/jobs', key], ['/v1/jobs', undefined], ['/nowhere', undefined]] as const) {
        const r = await api(base, 'GET', p, k ? { key: k } : {});
        assert.match(r.headers.get('strict-transport-security') ?? '', /max-age=\d+/, `HSTS on ${p} behind an https public URL`);
        assert.equal(r.headers.get('content-security-policy'), CSP);
      }
      const ops = operationsOf((await api(base, 'GET', '/v1/openapi.json')).body).filter((o) => !o.public && o.bodySchema && containsUri(o.bodySchema));
      assert.ok(ops.length >= 1, 'some endpoint takes a URL');
      const targets = [
        `http://127.0.0.1:${port}/x.png`,
        `https://127.0.0.1:${port}/x.png`,
        `https://localhost:${port}/x.png`,
        `https://[::1]:${port}/x.png`,
        `https://[::ffff:127.0.0.1]:${port}/x.png`,
        `https://[::ffff:7f00:1]:${port}/x.png`,
        `https://2130706433:${port}/x.png`,
        `https://0x7f000001:${port}/x.png`,
        `https://0177.0.0.1:${port}/x.png`,
        `https://127.1:${port}/x.png`,
        `https://0.0.0.0:${port}/x.png`,
        `https://[::]:${port}/x.png`,
        `https://user:pw@127.0.0.1:${port}/x.png`,
        'https://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'https://[fd00:ec2::254]/latest/meta-data/',
        'https://100.100.100.200/latest/meta-data/',
        'https://10.0.0.1/x.png',
        'https://172.16.0.1/x.png',
        'https://192.168.1.1/x.png',
        'https://[fe80::1]/x.png',
        'https://[fc00::1]/x.png',
        'https://[64:ff9b::7f00:1]/x.png',
        'file:///etc/passwd',
        `gopher://127.0.0.1:${port}/_INFO`,
        `ftp://127.0.0.1:${port}/x.png`,
        'data:image/png;base64,iVBORw0KGgo=',
      ];
      const before = (await api(base, 'GET', '/v1/account/profile', { key })).body.user;
      const byOp: Record<string, Record<string, number>> = {};
      let refused = 0;
      for (const op of ops) {
        const statuses: Record<string, number> = (byOp[`${op.method} ${op.template}`] = {});
        for (const target of targets) {
          const body = sampleOf(op.bodySchema, 0, { uri: target, includeUriFields: true });
          const res = await rawRequest(base, {
            method: op.method,
            path: fillPath(op.template, {}),
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          const jobId = res.status < 300 ? ((res.json?.job_id ?? res.headers['x-easel-job-id']) as string | undefined) : undefined;
          if (jobId) {
            // Accepted asynchronously (the URL is fetched by the worker): the guarded fetch must refuse
            // it there, so the job fails and its hold is returned.
            const job = await waitFor(async () => {
              const j = (await api(base, 'GET', `/v1/jobs/${jobId}`, { key })).body;
              return ['completed', 'failed', 'canceled'].includes(j.status) ? j : null;
            }, 60_000, 100);
            assert.equal(job.status, 'failed', `${op.method} ${op.template} with ${target}: the job must fail, not ${job.status}`);
            const label = `${res.status} → job failed (${job.error?.code})`;
            statuses[label] = (statuses[label] ?? 0) + 1;
          } else {
            statuses[res.status] = (statuses[res.status] ?? 0) + 1;
            assert.ok(res.status >= 400 && res.status < 500, `${op.method} ${op.template} with ${target}: ${res.status} ${res.text.slice(0, 300)}`);
            assert.equal(typeof res.json?.request_id, 'string');
          }
          refused++;
        }
        t.diagnostic(`${op.method} ${op.template}: ${targets.length} internal targets → ${JSON.stringify(statuses)}`);
      }
      assert.deepEqual(hits, [], 'the canary on loopback was never contacted');
      const after = (await api(base, 'GET', '/v1/account/profile', { key })).body.user;
      assert.equal(after.balance_eur, before.balance_eur, 'nothing charged');
      assert.equal(after.held_eur, '0.000000');
      fs.mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
      fs.writeFileSync(path.join(ROOT, 'test-artifacts', `ssrf-${MODE}.json`), JSON.stringify({ mode: MODE, targets: targets.length, operations: ops.length, refused, canaryHits: hits.length, byOperation: byOp }, null, 2));
    } finally {
      await srv.stop();
      canary.close();
    }
  });
});
