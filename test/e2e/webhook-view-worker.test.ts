import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';

const SIGNED_URL_FIELDS = new Set(['url', 'reference_url', 'image_url']);

/**
 * A job view with its signed URLs made comparable. A signed URL is minted on every render (the
 * presenter signs on read), so its query string (expiry and signature) and the `expires_at` beside
 * it move with the clock: the query string is dropped and that `expires_at` is only checked to be a
 * time. Nothing else in the view of an ended job changes with time — `result_expires_at` (retention)
 * is compared as is.
 */
function comparable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(comparable);
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  const signed = Object.keys(o).some((k) => SIGNED_URL_FIELDS.has(k) && typeof o[k] === 'string');
  return Object.fromEntries(
    Object.entries(o).map(([k, x]) => {
      if (SIGNED_URL_FIELDS.has(k) && typeof x === 'string') return [k, x.split('?')[0]];
      // A story scene's `images` is a signed URL per format.
      if (k === 'images' && x !== null && typeof x === 'object') return [k, Object.fromEntries(Object.entries(x).map(([f, u]) => [f, String(u).split('?')[0]]))];
      if (signed && k === 'expires_at' && x !== null) {
        assert.ok(!Number.isNaN(Date.parse(String(x))), `expires_at ${String(x)}`);
        return [k, '(signed URL expiry)'];
      }
      return [k, comparable(x)];
    }),
  );
}

/** The seed's terminal statuses; a cancel shows failed (with canceled: true) in webhooks as in GET. */
const ENDED = new Set(['completed', 'failed']);

/**
 * A receiver that accepts (204) only bodies whose job view shows the job ended, and refuses the
 * rest (503), which the dispatcher retries with backoff. Each attempt renders the job as it is
 * when sent, so every accepted body shows the job's final state — the one GET /v1/jobs/{id} shows
 * afterwards — whatever the event was and however the attempts raced the job.
 */
async function receiver() {
  const accepted: any[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const parsed = JSON.parse(body);
      if (!ENDED.has(parsed.data.job.status)) return void res.writeHead(503).end();
      accepted.push(parsed);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`,
    accepted,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe(`webhook job view from a worker process (${MODE})`, () => {
  it('every body a separate worker delivers carries exactly the GET /v1/jobs/{id} view: image, story, canceled story', async () => {
    const env = { EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_WEBHOOK_RETRY_BASE_MS: '200', EASEL_WEBHOOK_POLL_MS: '100', EASEL_SKETCH_LATENCY_MS: '150' };
    const rx = await receiver();
    const procs: EaselProcess[] = [];
    try {
      // The API process runs no workers, so no webhook dispatcher: every delivery comes from the worker.
      const server = await EaselProcess.start({ env, args: ['--no-worker'] });
      procs.push(server);
      // A worker mints URLs for clients too (webhook bodies): like any deployed process it is told
      // the public URL (docs/DEPLOY.md), which the API process learnt from its own port.
      procs.push(await EaselProcess.start({ env: { ...env, EASEL_PUBLIC_URL: server.baseUrl }, command: 'worker', sharedWith: server }));
      const worker = procs[1]!;
      const key = await server.createKey('wh-view', '5');
      const hook = { webhook_url: rx.url };

      const image = await api(server.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse at dusk', metadata: { order: 'A-1', customer: 'c-42' }, ...hook } });
      assert.equal(image.status, 200, image.text);
      const story = {
        characters: [{ name: 'Ada', appearance: 'a tall engineer in a green coat' }],
        scenes: [
          { prompt: 'Ada repairs a clock', characters: ['Ada'] },
          { prompt: 'Ada walks home', characters: ['Ada'] },
        ],
        metadata: { order: 'S-7' },
        ...hook,
      };
      const done = await api(server.baseUrl, 'POST', '/v1/generate/story', { key, body: story });
      assert.equal(done.status, 202, done.text);
      // A canceled story still shows its per-scene progress (`scenes`), which the presenter reads from the job's steps.
      const long = { ...story, scenes: Array.from({ length: 6 }, (_, i) => ({ prompt: `Ada at the market, stall ${i}`, characters: ['Ada'] })), metadata: { order: 'S-8' } };
      const canceled = await api(server.baseUrl, 'POST', '/v1/generate/story', { key, body: long });
      assert.equal(canceled.status, 202, canceled.text);
      const cancel = await api(server.baseUrl, 'POST', `/v1/jobs/${canceled.body.job_id}/cancel`, { key });
      assert.ok(cancel.status === 200 || cancel.status === 202, cancel.text);

      const ids = [image.headers.get('x-easel-job-id')!, done.body.job_id as string, canceled.body.job_id as string];
      const final = await waitFor(async () => {
        const views = await Promise.all(ids.map(async (id) => (await api(server.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body));
        return views.every((v) => ENDED.has(v.status)) ? views : null;
      }, 60_000, 100);
      assert.deepEqual(final.map((v) => [v.status, v.canceled ?? false, v.error?.code ?? null]), [['completed', false, null], ['completed', false, null], ['failed', true, 'canceled']]);

      // Wait until each job's every event was delivered (refused attempts are retried with backoff).
      await waitFor(async () => {
        for (const id of ids) {
          const l = (await api(server.baseUrl, 'GET', `/v1/webhooks/deliveries?job_id=${id}`, { key })).body;
          if (l.total === 0 || !l.deliveries.every((d: any) => d.status === 'succeeded')) return false;
        }
        return true;
      }, 60_000, 200);

      const views = new Map(ids.map((id, i) => [id, final[i]]));
      const seen = new Map<string, string[]>();
      for (const body of rx.accepted) {
        const id = body.data.job_id as string;
        assert.ok(views.has(id), `a delivery for an unknown job ${id}`);
        assert.deepEqual(comparable(body.data.job), comparable(views.get(id)), `${body.type} (seq ${body.data.seq}) of job ${id}`);
        seen.set(id, [...(seen.get(id) ?? []), body.type]);
      }
      assert.deepEqual(seen.get(ids[0]!)?.sort(), ['job.completed', 'job.created', 'job.started']);
      assert.ok(seen.get(ids[1]!)?.includes('scene.completed') && seen.get(ids[1]!)?.includes('job.completed'));
      assert.ok(seen.get(ids[2]!)?.includes('job.canceled'));

      // What a worker's view lacked while routes assembled it: Easel's cost, metadata and retention fields.
      const [img, st, cn] = [views.get(ids[0]!), views.get(ids[1]!), views.get(ids[2]!)];
      assert.deepEqual(img.metadata, { order: 'A-1', customer: 'c-42' });
      assert.equal(img.cost.charged_eur, img.result.cost_eur);
      assert.ok(img.result_expires_at && st.result_expires_at && cn.result_expires_at);
      assert.deepEqual(st.metadata, { order: 'S-7' });
      assert.equal(cn.scenes.length, 6);
      assert.ok(cn.scenes.every((s: any) => ['completed', 'canceled'].includes(s.status)), JSON.stringify(cn.scenes));
      // Only the worker sent them.
      assert.ok(worker.logs.some((l) => l.includes('"webhook attempt"')));
      assert.ok(!server.logs.some((l) => l.includes('"webhook attempt"')));
    } finally {
      for (const p of procs.reverse()) await p.stop();
      await rx.close();
    }
  });
});
