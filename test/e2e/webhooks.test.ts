import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { EaselProcess, api, waitFor } from '../helpers/server.js';

interface Received {
  headers: Record<string, string>;
  body: string;
  status: number;
}

/** A webhook receiver on loopback: records every request and answers with `respond(n)` (n = 0-based request count). */
async function receiver(respond: (n: number) => number) {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = respond(got.length);
      got.push({ headers: req.headers as Record<string, string>, body, status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'nope');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/easel`;
  return { url, got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, { 'webhook-id': r.headers['webhook-id']!, 'webhook-timestamp': r.headers['webhook-timestamp']!, 'webhook-signature': r.headers['webhook-signature']! }) as any;

describe('webhooks', () => {
  let srv: EaselProcess;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_RETRY_BASE_MS: '300', EASEL_WEBHOOK_POLL_MS: '100', EASEL_SKETCH_LATENCY_MS: '100' } });
  });
  after(() => srv.stop());

  it('a receiver failing the first 3 deliveries gets every event, signed, with stable ids across retries and increasing seq', async () => {
    const key = await srv.createKey('wh-retry', '1');
    const rx = await receiver((n) => (n < 3 ? 500 : 204));
    try {
      const secret = (await api(srv.baseUrl, 'GET', '/v1/account/webhook', { key })).body.secret;
      assert.match(secret, /^whsec_/);
      const story = {
        characters: [{ name: 'Ada', appearance: 'a tall engineer in a green coat' }],
        scenes: [{ prompt: 'Ada repairs a clock', characters: ['Ada'] }, { prompt: 'Ada walks home', characters: ['Ada'] }],
        webhook_url: rx.url,
      };
      const created = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story });
      assert.equal(created.status, 202, created.text);
      const id = created.body.job_id;

      const list = await waitFor(async () => {
        const l = (await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${id}`, { key })).body;
        const types = l.deliveries.map((d: any) => d.event_type);
        return types.includes('job.completed') && l.deliveries.every((d: any) => d.status === 'succeeded') ? l : null;
      }, 60_000, 200);

      // Every request the receiver saw verifies with the account secret (standardwebhooks package).
      const payloads = rx.got.map((r) => ({ r, p: verify(secret, r) }));
      const failedIds = rx.got.slice(0, 3).map((r) => r.headers['webhook-id']);
      for (const fid of failedIds) {
        const again = rx.got.filter((r) => r.headers['webhook-id'] === fid);
        assert.ok(again.length >= 2, `delivery ${fid} was retried under the same id`);
        assert.equal(again.at(-1)!.status, 204);
        assert.equal(new Set(again.map((r) => r.body && JSON.parse(r.body).data.seq)).size, 1, 'a retry carries the same event');
      }
      // One successful delivery per event; sequence numbers 1..n with the job's event types in order.
      const ok = payloads.filter(({ r }) => r.status === 204).map(({ r, p }) => ({ id: r.headers['webhook-id'], seq: p.data.seq, type: p.type, job: p.data.job }));
      assert.equal(new Set(ok.map((o) => o.id)).size, ok.length);
      ok.sort((a, b) => a.seq - b.seq);
      assert.deepEqual(ok.map((o) => o.seq), ok.map((_, i) => i + 1));
      assert.deepEqual(ok.map((o) => o.type), ['job.created', 'job.started', 'scene.completed', 'scene.completed', 'job.completed']);
      assert.equal(ok.at(-1)!.job.status, 'completed');
      assert.ok(ok.every((o) => o.job.job_id === id));

      // The delivery log shows each attempt: 3 failures with status 500, then successes.
      assert.equal(list.total, 5);
      const attempts = list.deliveries.flatMap((d: any) => d.attempts);
      assert.equal(attempts.length, rx.got.length);
      assert.equal(attempts.filter((a: any) => a.status_code === 500).length, 3);
      for (const a of attempts) assert.ok(Number.isInteger(a.latency_ms) && a.latency_ms >= 0);
      assert.ok(list.deliveries.every((d: any) => d.attempts.at(-1).status_code === 204 && d.attempts.at(-1).error === null));

      // Operators see the same outcomes in Prometheus.
      const metrics = await (await fetch(srv.url('/metrics'))).text();
      const count = (outcome: string) => Number((new RegExp(`^easel_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(metrics) ?? [])[1] ?? 0);
      assert.ok(count('failed') >= 3, 'the 3 refused attempts are counted');
      assert.ok(count('delivered') >= 5, 'every delivered event is counted');

      // Redeliver sends the same delivery again, same webhook-id.
      const first = list.deliveries.find((d: any) => d.seq === 1);
      const before = rx.got.length;
      const re = await api(srv.baseUrl, 'POST', `/v1/webhooks/deliveries/${first.id}/redeliver`, { key });
      assert.equal(re.status, 202, re.text);
      await waitFor(async () => rx.got.length > before, 20_000, 100);
      assert.equal(rx.got.at(-1)!.headers['webhook-id'], first.id);
      assert.equal(verify(secret, rx.got.at(-1)!).data.seq, 1);

      // Another account sees neither the job's deliveries nor can redeliver them.
      const other = await srv.createKey('wh-other', '1');
      assert.equal((await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${id}`, { key: other })).status, 404);
      assert.equal((await api(srv.baseUrl, 'POST', `/v1/webhooks/deliveries/${first.id}/redeliver`, { key: other })).status, 404);
      assert.equal((await api(srv.baseUrl, 'GET', '/v1/webhooks/deliveries', { key: other })).body.total, 0);
    } finally {
      await rx.close();
    }
  });

  it('the account default webhook with an event filter; a rotated secret signs later deliveries, beside the old one for the overlap', async () => {
    const key = await srv.createKey('wh-default', '1');
    const rx = await receiver(() => 200);
    try {
      const put = await api(srv.baseUrl, 'PUT', '/v1/account/webhook', { key, body: { url: rx.url, events: ['job.completed'] } });
      assert.equal(put.status, 200, put.text);
      assert.equal(put.body.url, rx.url);
      assert.deepEqual(put.body.events, ['job.completed']);
      const oldSecret = put.body.secret;
      const img = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a teapot' } });
      assert.equal(img.status, 200);
      await waitFor(async () => rx.got.length === 1, 20_000, 100);
      const p = verify(oldSecret, rx.got[0]!);
      assert.equal(p.type, 'job.completed');
      assert.equal(p.data.job_id, img.headers.get('x-easel-job-id'));
      assert.equal(p.data.job.result.image_hash, img.body.image_hash);

      assert.equal(put.body.previous_secret_expires_at, null);
      // A rotation keeps the replaced secret signing beside the new one for a day (default): a receiver
      // still configured with the old secret goes on verifying until it is switched over.
      const t0 = Date.now();
      const rotated = await api(srv.baseUrl, 'POST', '/v1/account/webhook/rotate-secret', { key });
      assert.equal(rotated.status, 200, rotated.text);
      assert.notEqual(rotated.body.secret, oldSecret);
      const until = Date.parse(rotated.body.previous_secret_expires_at);
      assert.ok(Math.abs(until - (t0 + 86_400_000)) < 5_000, rotated.body.previous_secret_expires_at);
      await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a second teapot' } });
      await waitFor(async () => rx.got.length === 2, 20_000, 100);
      assert.equal(rx.got[1]!.headers['webhook-signature']!.split(' ').length, 2, 'two signatures during the overlap');
      assert.equal(verify(rotated.body.secret, rx.got[1]!).type, 'job.completed');
      assert.equal(verify(oldSecret, rx.got[1]!).type, 'job.completed');

      // expire_previous_in_s: 0 ends the overlap at once: only the newest secret signs.
      const bad = await api(srv.baseUrl, 'POST', '/v1/account/webhook/rotate-secret', { key, body: { expire_previous_in_s: 604_801 } });
      assert.equal(bad.status, 422, bad.text);
      assert.equal(bad.body.details.fields[0].path, 'expire_previous_in_s');
      assert.equal((await api(srv.baseUrl, 'POST', '/v1/account/webhook/rotate-secret', { key, body: { expire_previous_in_s: 'soon' } })).status, 400);
      assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/webhook', { key })).body.secret, rotated.body.secret, 'a refused rotation changes nothing');
      const hard = await api(srv.baseUrl, 'POST', '/v1/account/webhook/rotate-secret', { key, body: { expire_previous_in_s: 0 } });
      assert.equal(hard.status, 200, hard.text);
      assert.equal(hard.body.previous_secret_expires_at, null);
      await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a third teapot' } });
      await waitFor(async () => rx.got.length === 3, 20_000, 100);
      assert.equal(rx.got[2]!.headers['webhook-signature']!.split(' ').length, 1);
      assert.equal(verify(hard.body.secret, rx.got[2]!).type, 'job.completed');
      assert.throws(() => verify(rotated.body.secret, rx.got[2]!));
      assert.throws(() => verify(oldSecret, rx.got[2]!));

      const off = await api(srv.baseUrl, 'PUT', '/v1/account/webhook', { key, body: { url: null } });
      assert.equal(off.body.url, null);
    } finally {
      await rx.close();
    }
  });

  it('webhook URLs pointing at private networks are refused with 422 when the job is created', async () => {
    const key = await srv.createKey('wh-ssrf', '1');
    for (const url of ['https://10.0.0.7/hook', 'https://169.254.169.254/latest/meta-data', 'https://[fd00::1]/x', 'ftp://example.com/x']) {
      const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a cat', webhook_url: url } });
      assert.equal(r.status, 422, `${url}: ${r.text}`);
      assert.equal(r.body.error, 'validation_failed');
      assert.equal(r.body.details.fields[0].path, 'webhook_url');
      const d = await api(srv.baseUrl, 'PUT', '/v1/account/webhook', { key, body: { url } });
      assert.equal(d.status, 422);
    }
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 0);
  });
});

describe('webhook durability', () => {
  it('a server restart between delivery attempts loses nothing: the retry comes after the restart, same id', async () => {
    let healthy = false;
    const rx = await receiver(() => (healthy ? 200 : 503));
    const srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_RETRY_BASE_MS: '1500', EASEL_WEBHOOK_POLL_MS: '100' } });
    try {
      const key = await srv.createKey('wh-restart', '1');
      const secret = (await api(srv.baseUrl, 'GET', '/v1/account/webhook', { key })).body.secret;
      const img = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a windmill', webhook_url: rx.url, webhook_events: ['job.completed'] } });
      assert.equal(img.status, 200);
      const jobId = img.headers.get('x-easel-job-id');
      // The first attempt failed and was recorded…
      await waitFor(async () => {
        const l = (await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${jobId}`, { key })).body;
        return l.deliveries[0]?.attempts.length === 1 ? l : null;
      }, 20_000, 50);
      // …then the server dies before the retry.
      await srv.kill('SIGKILL');
      healthy = true;
      await srv.boot();
      const l = await waitFor(async () => {
        const r = (await api(srv.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${jobId}`, { key })).body;
        return r.deliveries[0]?.status === 'succeeded' ? r : null;
      }, 30_000, 100);
      const d = l.deliveries[0];
      assert.deepEqual(d.attempts.map((a: any) => a.status_code), [503, 200]);
      assert.ok(rx.got.length >= 2);
      assert.ok(rx.got.every((r) => r.headers['webhook-id'] === d.id));
      const p = verify(secret, rx.got.at(-1)!);
      assert.equal(p.type, 'job.completed');
      assert.equal(p.data.job_id, jobId);
    } finally {
      await srv.stop();
      await rx.close();
    }
  });
});
