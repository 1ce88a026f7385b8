import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, MODE, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { readEvents } from '../helpers/sse-client.js';
import { OpenAIFake } from '../fakes/openai-fake.js';

const OPENAI_KEY = 'sk-test-batches';
/** Price of the vendor model in the catalogue below (micros), and of the offline renderer. */
const VENDOR = 45_000;
const SKETCH = 20_000;
const eur = (micros: number) => (micros / 1e6).toFixed(6);
const ended = (j: { status: string }) => j.status === 'completed' || j.status === 'failed';

/** The batch's items as results.jsonl lists them (raw fetch: one JSON object a line). */
async function resultLines(srv: EaselProcess, key: string, id: string): Promise<any[]> {
  const res = await fetch(`${srv.baseUrl}/v1/batches/${id}/results.jsonl`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/x-ndjson/);
  return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function waitEnded(srv: EaselProcess, key: string, id: string, timeoutMs = 120_000): Promise<any> {
  return waitFor(async () => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    return ended(r.body) ? r.body : null;
  }, timeoutMs, 100);
}

async function balance(srv: EaselProcess, key: string): Promise<string> {
  return (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur;
}

/**
 * Batches (issue 21) against a real server, both modes: the offline renderer for volume, and a
 * local fake of the OpenAI Images API (the documented wire format) for vendor-side refusals,
 * vendor failures and slow calls, chosen per prompt.
 */
describe(`batches (${MODE})`, () => {
  let openai: OpenAIFake;
  let srv: EaselProcess;

  before(async () => {
    openai = await OpenAIFake.start({ apiKey: OPENAI_KEY });
    // The vendor's safety system refuses these prompts; these others it answers with a plain 400.
    openai.forPrompt('vendor-blocked', { kind: 'safety' });
    openai.forPrompt('vendor-broken', { kind: 'status', status: 400, code: 'invalid_value' });
    openai.forPrompt('slow item', { kind: 'delay', ms: 400 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-batch-models-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `defaults: { image: easel-sketch }
models:
  - { id: gpt-image-1, name: GPT Image, description: OpenAI, provider: openai, vendor_model: gpt-image-1, operations: [generate], price_eur: "0.045000", fixed_sizes: [1024x1024] }
  - { id: easel-sketch, name: Sketch, description: offline, provider: sketch, operations: [generate], price_eur: "0.020000" }
`,
    );
    srv = await EaselProcess.start({
      env: {
        EASEL_MODELS_FILE: file,
        EASEL_OPENAI_API_KEY: OPENAI_KEY,
        EASEL_OPENAI_BASE_URL: openai.baseUrl,
        EASEL_OPENAI_MAX_RETRIES: '0',
        EASEL_RETRY_BASE_MS: '50',
        EASEL_MAX_ATTEMPTS: '2',
        EASEL_ALLOW_LOOPBACK_URLS: 'true',
      },
    });
  });
  after(async () => {
    try {
      await srv.stop();
    } finally {
      await openai.close();
    }
  });

  it('a 200-item batch completes with 200 decodable images, progress on the job, and an exact ledger', async () => {
    const key = await srv.createKey('batch-200', '10');
    const items = Array.from({ length: 200 }, (_, i) => ({ prompt: `batch lighthouse ${i}`, metadata: { row: String(i) } }));
    const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items, defaults: { model: 'easel-sketch', image_size: '1K' }, metadata: { run: 'two-hundred' } } });
    assert.equal(res.status, 202, res.text);
    assert.equal(res.body.items_total, 200);
    assert.equal(res.body.price_eur, eur(200 * SKETCH));
    assert.equal(res.body.poll_url, `/v1/jobs/${res.body.job_id}`);
    const id = res.body.job_id;
    // The whole price is held at acceptance.
    assert.equal(await balance(srv, key), eur(10_000_000 - 200 * SKETCH));

    const seen: number[] = [];
    const done = await waitFor(async () => {
      const j = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
      seen.push(j.scenes_completed);
      return ended(j) ? j : null;
    }, 180_000, 100);
    assert.ok(seen.every((n, i) => i === 0 || n >= seen[i - 1]!), 'progress never goes back');
    assert.equal(done.status, 'completed', JSON.stringify(done));
    assert.equal(done.operation, 'batch');
    assert.equal(done.scenes_completed, 200);
    assert.equal(done.scenes_total, 200);
    assert.deepEqual(
      { c: done.batch.items_completed, f: done.batch.items_failed, x: done.batch.items_canceled, r: done.batch.items_running, p: done.batch.items_pending },
      { c: 200, f: 0, x: 0, r: 0, p: 0 },
    );
    assert.deepEqual(done.cost, { held_eur: eur(0), charged_eur: eur(200 * SKETCH), refunded_eur: eur(0) });
    assert.equal(done.result.items_completed, 200);
    assert.deepEqual(done.metadata, { run: 'two-hundred' });

    const lines = await resultLines(srv, key, id);
    assert.equal(lines.length, 200);
    const hashes = new Set<string>();
    for (const [i, line] of lines.entries()) {
      assert.equal(line.index, i);
      assert.equal(line.status, 'completed');
      assert.deepEqual(line.metadata, { row: String(i) });
      assert.equal(line.cost.charged_eur, eur(SKETCH));
      const png = await download(line.result.formats.png.url);
      assert.equal(png.status, 200);
      const meta = await sharp(png.bytes).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, 1024);
      hashes.add(line.result.image_hash);
    }
    assert.equal(hashes.size, 200, 'every item drew its own prompt');

    const audit = await auditLedger(srv, 'batch-200');
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, 200 * SKETCH);
    assert.equal(audit.available, 10_000_000 - 200 * SKETCH);
    assert.equal(audit.ledgerAvailable, audit.available);
    assert.equal(audit.ledgerHeld, audit.held);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);

    // The batch is one job of the account's list; its items are listed by the batch, and each is a job too.
    const list = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body;
    assert.equal(list.total, 1);
    assert.equal(list.generations[0].job_id, id);
    const item = (await api(srv.baseUrl, 'GET', `/v1/jobs/${lines[17].job_id}`, { key })).body;
    assert.equal(item.batch_id, id);
    assert.equal(item.batch_index, 17);
    assert.equal(item.status, 'completed');
    const page = (await api(srv.baseUrl, 'GET', `/v1/batches/${id}/items?limit=50&offset=150`, { key })).body;
    assert.equal(page.total, 200);
    assert.deepEqual(page.items.map((x: any) => x.index), Array.from({ length: 50 }, (_, i) => 150 + i));
  });

  it('vendor-refused and vendor-failed items fail alone: the rest complete, those five are released, SSE and webhooks report each', async () => {
    const key = await srv.createKey('batch-mixed', '5');
    const hooks: any[] = [];
    const receiver = await startReceiver(hooks);
    try {
      const prompts = Array.from({ length: 20 }, (_, i) => (i === 2 || i === 9 || i === 15 ? `vendor-blocked ${i}` : i === 5 || i === 11 ? `vendor-broken ${i}` : `fine vendor item ${i}`));
      const res = await api(srv.baseUrl, 'POST', '/v1/batches', {
        key,
        body: { operation: 'image', items: prompts.map((prompt) => ({ prompt })), defaults: { model: 'gpt-image-1' }, webhook_url: receiver.url, webhook_events: ['batch.item.failed', 'job.completed'] },
      });
      assert.equal(res.status, 202, res.text);
      const id = res.body.job_id;
      const stream = readEvents(srv.baseUrl, `/v1/jobs/${id}/events`, key, { timeoutMs: 120_000 });
      const done = await waitEnded(srv, key, id);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.batch.items_completed, 15);
      assert.equal(done.batch.items_failed, 5);
      assert.deepEqual(done.cost, { held_eur: eur(0), charged_eur: eur(15 * VENDOR), refunded_eur: eur(5 * VENDOR) });

      const failed = (await api(srv.baseUrl, 'GET', `/v1/batches/${id}/items?status=failed`, { key })).body;
      assert.equal(failed.total, 5);
      assert.deepEqual(failed.items.map((x: any) => x.index), [2, 5, 9, 11, 15]);
      for (const x of failed.items) {
        assert.equal(x.cost.charged_eur, eur(0));
        assert.equal(x.cost.refunded_eur, eur(VENDOR));
        assert.equal(x.error.code === 'content_rejected', [2, 9, 15].includes(x.index), JSON.stringify(x.error));
      }
      const completed = (await api(srv.baseUrl, 'GET', `/v1/batches/${id}/items?status=completed&limit=500`, { key })).body;
      assert.equal(completed.total, 15);
      for (const x of completed.items) assert.equal((await sharp((await download(x.result.formats.png.url)).bytes).metadata()).format, 'png');

      const events = (await stream).events.map((e) => e.event);
      assert.equal(events.filter((e) => e === 'batch.item.completed').length, 15);
      assert.equal(events.filter((e) => e === 'batch.item.failed').length, 5);
      assert.equal(events.at(-1), 'job.completed');

      await waitFor(async () => hooks.length >= 6, 30_000);
      const types = hooks.map((h) => h.type).sort();
      assert.deepEqual(types, ['batch.item.failed', 'batch.item.failed', 'batch.item.failed', 'batch.item.failed', 'batch.item.failed', 'job.completed']);
      const indexes = hooks.filter((h) => h.type === 'batch.item.failed').map((h) => h.data.event.index).sort((a: number, b: number) => a - b);
      assert.deepEqual(indexes, [2, 5, 9, 11, 15]);

      const audit = await auditLedger(srv, 'batch-mixed');
      assert.equal(audit.held, 0);
      assert.equal(audit.captures, 15 * VENDOR);
      assert.equal(audit.available, 5_000_000 - 15 * VENDOR);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    } finally {
      await receiver.close();
    }
  });

  it('a batch in which every item fails is failed, with the items\' common code, and costs nothing', async () => {
    const key = await srv.createKey('batch-allfail', '1');
    const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [0, 1, 2].map((i) => ({ prompt: `vendor-blocked all ${i}` })), defaults: { model: 'gpt-image-1' } } });
    assert.equal(res.status, 202, res.text);
    const done = await waitEnded(srv, key, res.body.job_id);
    assert.equal(done.status, 'failed');
    assert.equal(done.error.code, 'content_rejected');
    assert.equal(done.batch.items_failed, 3);
    assert.deepEqual(done.cost, { held_eur: eur(0), charged_eur: eur(0), refunded_eur: eur(3 * VENDOR) });
    assert.equal(await balance(srv, key), eur(1_000_000));
  });

  it('cancel at half-way keeps the finished items and refunds the rest exactly', async () => {
    const key = await srv.createKey('batch-cancel', '5');
    const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: Array.from({ length: 24 }, (_, i) => ({ prompt: `slow item ${i}` })), defaults: { model: 'gpt-image-1' } } });
    assert.equal(res.status, 202, res.text);
    const id = res.body.job_id;
    await waitFor(async () => (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body.batch.items_completed >= 12, 60_000, 20);
    const c = await api(srv.baseUrl, 'POST', `/v1/batches/${id}/cancel`, { key });
    assert.ok(c.status === 202 || c.status === 200, c.text);
    const done = await waitEnded(srv, key, id);
    assert.equal(done.status, 'failed');
    assert.equal(done.canceled, true);
    assert.equal(done.error.code, 'canceled');
    const n = done.batch.items_completed;
    assert.ok(n >= 12 && n < 24, `completed ${n}`);
    assert.equal(done.batch.items_canceled, 24 - n);
    assert.equal(done.batch.items_failed, 0);
    assert.deepEqual(done.cost, { held_eur: eur(0), charged_eur: eur(n * VENDOR), refunded_eur: eur((24 - n) * VENDOR) });
    const lines = await resultLines(srv, key, id);
    for (const l of lines) {
      if (l.status === 'completed') assert.equal((await download(l.result.formats.png.url)).status, 200, 'a finished item keeps its image');
      else {
        assert.equal(l.canceled, true);
        assert.equal(l.cost.charged_eur, eur(0));
        assert.equal(l.cost.refunded_eur, eur(VENDOR));
      }
    }
    assert.equal(await balance(srv, key), eur(5_000_000 - n * VENDOR));
    const audit = await auditLedger(srv, 'batch-cancel');
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, n * VENDOR);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
    const again = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key });
    assert.equal(again.status, 409);
  });

  it('invalid items refuse the batch listing every offending path, and nothing is created or charged', async () => {
    const key = await srv.createKey('batch-invalid', '1');
    const before = await auditLedger(srv, 'batch-invalid');
    // Shapes and types → 400 (as a single create), with the value errors of other items listed too.
    const mixed = await api(srv.baseUrl, 'POST', '/v1/batches', {
      key,
      body: { operation: 'image', items: [{ prompt: 'fine' }, { seed: 3 }, { prompt: 'ok' }, { prompt: 'x', aspect_ratio: 'wide' }, { prompt: 'y', colour: 'red' }, { prompt: 'z'.repeat(5000) }] },
    });
    assert.equal(mixed.status, 400, mixed.text);
    assert.equal(mixed.body.error, 'bad_request');
    const paths = mixed.body.details.fields.map((f: any) => f.path);
    for (const p of ['items[1].prompt', 'items[3].aspect_ratio', 'items[4].colour', 'items[5].prompt']) assert.ok(paths.includes(p), `${p} in ${paths.join(', ')}`);
    assert.ok(!paths.some((p: string) => p.startsWith('items[0]') || p.startsWith('items[2]')));
    assert.deepEqual(mixed.body.details.items.map((i: any) => i.index), [1, 3, 4, 5]);
    // Values and limits alone → 422.
    const values = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [{ prompt: 'a'.repeat(5000) }, { prompt: 'fine' }, { prompt: 'b'.repeat(5000) }] } });
    assert.equal(values.status, 422, values.text);
    assert.deepEqual(values.body.details.fields.map((f: any) => f.path), ['items[0].prompt', 'items[2].prompt']);
    // Easel's own moderation → the status a single create gets (403), the prompt's path named.
    const mod = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [{ prompt: 'a calm lake' }, { prompt: 'a gory battlefield with dismembered soldiers' }] } });
    assert.equal(mod.status, 403, mod.text);
    assert.equal(mod.body.error, 'content_rejected');
    assert.deepEqual(mod.body.details.fields.map((f: any) => f.path), ['items[1].prompt']);
    // Batch-level fields inside an item, an unknown operation, a story, too many items.
    const own = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [{ prompt: 'p', webhook_url: 'https://example.com/h' }] } });
    assert.equal(own.status, 422, own.text);
    assert.equal(own.body.details.fields[0].path, 'items[0].webhook_url');
    assert.equal((await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'story', items: [{ prompt: 'p' }] } })).status, 400);
    assert.equal((await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [] } })).status, 422);
    const many = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: Array.from({ length: 1001 }, () => ({ prompt: 'p' })) } });
    assert.equal(many.status, 422, many.text);
    assert.equal(many.body.details.fields[0].path, 'items');
    // Over the balance → 402 for the sum, nothing held.
    const poor = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: Array.from({ length: 60 }, (_, i) => ({ prompt: `p ${i}` })) } });
    assert.equal(poor.status, 402, poor.text);
    assert.equal(poor.body.details.required_eur, eur(60 * SKETCH));
    // Over the batch's max_cost_eur → 422 max_cost_exceeded.
    const cap = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', max_cost_eur: '0.050000', items: [1, 2, 3].map((i) => ({ prompt: `p ${i}` })) } });
    assert.equal(cap.status, 422, cap.text);
    assert.equal(cap.body.error, 'max_cost_exceeded');
    // Over the account's daily spending cap → 402 spending_cap_reached for the sum, nothing held.
    assert.equal((await srv.cli(['accounts', 'set', 'batch-invalid', '--daily-cap-eur', '0.05'])).code, 0);
    const capped = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: [1, 2, 3].map((i) => ({ prompt: `capped ${i}` })) } });
    assert.equal(capped.status, 402, capped.text);
    assert.equal(capped.body.error, 'spending_cap_reached');

    const after = await auditLedger(srv, 'batch-invalid');
    assert.deepEqual(after, before, 'no ledger row was written');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, 0, 'no job was created');
  });

  it('JSONL upload, Idempotency-Key replay, and another account sees nothing', async () => {
    const key = await srv.createKey('batch-jsonl', '2');
    const other = await srv.createKey('batch-other', '1');
    const form = new FormData();
    form.set('operation', 'image');
    form.set('defaults', JSON.stringify({ model: 'easel-sketch' }));
    form.set('items', new Blob(['{"prompt":"jsonl one"}\n\n{"prompt":"jsonl two"}\n{"prompt":"jsonl three"}\n'], { type: 'application/x-ndjson' }), 'items.jsonl');
    const post = (body: FormData) => fetch(`${srv.baseUrl}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'idempotency-key': 'jsonl-batch-1' }, body });
    const r1 = await post(form);
    assert.equal(r1.status, 202, await r1.clone().text());
    const b1 = (await r1.json()) as any;
    assert.equal(b1.items_total, 3);
    const r2 = await post(form);
    assert.equal(r2.status, 202);
    assert.equal(((await r2.json()) as any).job_id, b1.job_id, 'the same key answers with the same batch');
    const done = await waitEnded(srv, key, b1.job_id);
    assert.equal(done.status, 'completed');
    assert.equal(await balance(srv, key), eur(2_000_000 - 3 * SKETCH), 'charged once');

    const bad = new FormData();
    bad.set('operation', 'image');
    bad.set('items', new Blob(['{"prompt":"ok"}\nnot json\n']), 'items.jsonl');
    const rb = await fetch(`${srv.baseUrl}/v1/batches`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: bad });
    assert.equal(rb.status, 400);
    assert.equal(((await rb.json()) as any).details.fields[0].path, 'items[1]');

    for (const p of [`/v1/batches/${b1.job_id}`, `/v1/batches/${b1.job_id}/items`, `/v1/batches/${b1.job_id}/results.jsonl`, `/v1/jobs/${b1.job_id}`]) {
      assert.equal((await api(srv.baseUrl, 'GET', p, { key: other })).status, 404, p);
    }
    assert.equal((await api(srv.baseUrl, 'POST', `/v1/batches/${b1.job_id}/cancel`, { key: other })).status, 404);
  });
});

/** A loopback webhook receiver that records every delivery's JSON body. */
async function startReceiver(into: any[]): Promise<{ url: string; close(): Promise<void> }> {
  const http = await import('node:http');
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      into.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
