import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download, waitFor, type ApiResponse } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

/** A result's PNG decoded to raw RGBA: the pixels, without the provenance metadata that differs per generation. */
async function pixels(result: { formats: { png: { url: string } } }): Promise<{ data: Buffer; width: number; height: number }> {
  const png = await download(result.formats.png.url);
  assert.equal(png.status, 200);
  const { data, info } = await sharp(png.bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** multipart/form-data with files and text fields (the edit and combine routes take uploads). */
async function form(base: string, p: string, key: string, files: [string, Buffer, string][], fields: Record<string, string>): Promise<ApiResponse> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  files.forEach(([field, bytes, type], i) => fd.append(field, new Blob([new Uint8Array(bytes)], { type }), `file-${i}`));
  const res = await fetch(base + p, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: fd });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text };
}

const MAX_SEED = 2147483647;
const otherSeed = (s: number) => (s === MAX_SEED ? s - 1 : s + 1);

describe('reproducibility: params and the seed-aware result cache (issue 22)', () => {
  let srv: EaselProcess;
  let keyA: string;
  let keyB: string;
  let callLog: string;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-repro-'));
    callLog = path.join(dir, 'calls.jsonl');
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `models:
  - { id: easel-sketch, name: Sketch, description: offline, provider: sketch, operations: [generate, edit, combine], price_eur: "0.020000" }
  - { id: sketch-cached, name: Sketch cached, description: per-account cache, provider: sketch, operations: [generate, edit], price_eur: "0.020000", cacheable: true, cache_price_eur: "0.005000" }
  - { id: sketch-shared, name: Sketch shared, description: shared cache, provider: sketch, operations: [generate], price_eur: "0.030000", cacheable: true, cache_shared: true }
`,
    );
    srv = await EaselProcess.start({ env: { EASEL_MODELS_FILE: file, EASEL_PROVIDER_CALL_LOG: callLog } });
    keyA = await srv.createKey('repro-a', '5');
    keyB = await srv.createKey('repro-b', '5');
  });
  after(async () => {
    await srv?.stop();
  });

  /** Provider calls the renderer logged for a model and a prompt (one line per call, src/providers/sketch-provider.ts). */
  const calls = (model: string, prompt: string) =>
    (fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean) : [])
      .map((l) => JSON.parse(l) as { provider: string; prompt: string; seed: number })
      .filter((c) => c.provider === model && c.prompt.includes(prompt));

  const generate = async (key: string, body: Record<string, unknown>) => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };
  const job = async (key: string, id: string) => {
    const res = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(res.status, 200, res.text);
    return res.body;
  };

  it('a job without a seed records complete params, and re-running with them gives the same pixels (another seed: different ones)', async () => {
    const req = { prompt: 'a lighthouse on a cliff at dusk', model: 'easel-sketch', aspect_ratio: '16:9', image_size: '1K' };
    const first = await generate(keyA, req);
    const view = await job(keyA, first.id);
    const p = view.params;
    assert.ok(p, 'a completed image has params');
    assert.equal(p.model, 'easel-sketch');
    assert.equal(p.adapter, 'sketch/1');
    assert.equal(p.vendor_model, 'easel-sketch');
    assert.ok(Number.isInteger(p.seed) && p.seed >= 0 && p.seed <= MAX_SEED, `seed ${p.seed}`);
    assert.deepEqual([p.width, p.height], [1024, 576], '16:9 at 1K');
    // The renderer has no steps, sampler, guidance or vendor version: null, never guessed.
    assert.deepEqual([p.steps, p.sampler, p.guidance, p.vendor_version], [null, null, null, null]);
    assert.equal(view.cached, undefined, 'not cached: the field is omitted');
    const a = await pixels(first);
    assert.deepEqual([a.width, a.height], [p.width, p.height]);

    const again = await generate(keyA, { ...req, seed: p.seed });
    assert.equal((await job(keyA, again.id)).params.seed, p.seed);
    const b = await pixels(again);
    assert.notEqual(again.image_hash, first.image_hash, 'a new generation: its files (provenance) differ');
    assert.ok(a.data.equals(b.data), 'the same params give the same pixels');

    const other = await generate(keyA, { ...req, seed: otherSeed(p.seed) });
    assert.equal((await job(keyA, other.id)).params.seed, otherSeed(p.seed));
    assert.ok(!a.data.equals((await pixels(other)).data), 'another seed gives other pixels');
  });

  it('edit and combine jobs record params too', async () => {
    const input = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#3366aa' } }).png().toBuffer();
    const edit = await form(srv.baseUrl, '/v1/edit/graphic', keyA, [['image', input, 'image/png']], { prompt: 'add a sun', model: 'easel-sketch', aspect_ratio: '1:1', seed: '77' });
    assert.equal(edit.status, 200, edit.text);
    const ev = await job(keyA, edit.body.id);
    assert.equal(ev.operation, 'edit_graphic');
    assert.deepEqual([ev.params.model, ev.params.seed, ev.params.width, ev.params.height, ev.params.adapter], ['easel-sketch', 77, 1024, 1024, 'sketch/1']);
    const combine = await form(srv.baseUrl, '/v1/combine/image', keyA, [['images', input, 'image/png'], ['images', input, 'image/png']], { prompt: 'side by side', model: 'easel-sketch', aspect_ratio: '1:1' });
    assert.equal(combine.status, 200, combine.text);
    const cv = await job(keyA, combine.body.id);
    assert.equal(cv.params.model, 'easel-sketch');
    assert.ok(Number.isInteger(cv.params.seed));
  });

  it('a cacheable model serves an identical request from its cache, at the cache price, for the same account only', async () => {
    const prompt = 'a red kite over green hills';
    const req = { prompt, model: 'sketch-cached', aspect_ratio: '1:1', seed: 4242 };
    const first = await generate(keyA, req);
    const v1 = await job(keyA, first.id);
    assert.equal(v1.cached, undefined);
    assert.equal(v1.cost.charged_eur, '0.020000', 'a miss costs the model price');
    assert.equal(calls('sketch-cached', prompt).length, 1);

    const second = await generate(keyA, req);
    const v2 = await job(keyA, second.id);
    assert.equal(v2.cached, true, 'an identical request is served from the cache');
    assert.deepEqual(v2.cost, { held_eur: '0.000000', charged_eur: '0.005000', refunded_eur: '0.015000' }, 'charged exactly the cache price, the rest of the hold returned');
    assert.equal(second.cost_eur, '0.005000');
    assert.deepEqual(v2.params, v1.params, 'the params of the generation it reuses');
    assert.equal(calls('sketch-cached', prompt).length, 1, 'the provider was not called again');
    assert.ok((await pixels(first)).data.equals((await pixels(second)).data), 'the same pixels');
    // The ledger says the same: one capture of the cache price and one release of the rest, for that job.
    const ledger = await api(srv.baseUrl, 'GET', '/v1/account/ledger?limit=100', { key: keyA });
    assert.equal(ledger.status, 200);
    const rows = ledger.body.entries.filter((e: { job_id: string }) => e.job_id === second.id);
    assert.deepEqual(rows.map((e: { kind: string; held_delta_eur: string }) => [e.kind, e.held_delta_eur]).sort(), [['capture', '-0.005000'], ['hold', '0.020000'], ['release', '-0.015000']]);

    // Another account's identical request is never served from this account's cache.
    const theirs = await generate(keyB, req);
    const vb = await job(keyB, theirs.id);
    assert.equal(vb.cached, undefined);
    assert.equal(vb.cost.charged_eur, '0.020000');
    assert.equal(calls('sketch-cached', prompt).length, 2, 'account B paid for its own generation');

    // A different seed is a different request: a miss.
    const reseeded = await generate(keyA, { ...req, seed: 4243 });
    assert.equal((await job(keyA, reseeded.id)).cached, undefined);
    assert.equal(calls('sketch-cached', prompt).length, 3);
    assert.ok(!(await pixels(first)).data.equals((await pixels(reseeded)).data));

    // A different input image is a different request too (edit: the input's bytes are in the key).
    const red = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#cc2222' } }).png().toBuffer();
    const blue = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#2222cc' } }).png().toBuffer();
    const edit = (bytes: Buffer) => form(srv.baseUrl, '/v1/edit/image', keyA, [['image', bytes, 'image/png']], { prompt: 'make it glow', model: 'sketch-cached', seed: '9' });
    const e1 = await edit(red);
    const e2 = await edit(red);
    const e3 = await edit(blue);
    assert.deepEqual([e1.status, e2.status, e3.status], [200, 200, 200]);
    assert.deepEqual([(await job(keyA, e1.body.id)).cached, (await job(keyA, e2.body.id)).cached, (await job(keyA, e3.body.id)).cached], [undefined, true, undefined]);
    assert.equal(calls('sketch-cached', 'make it glow').length, 2);

    for (const acct of ['repro-a', 'repro-b']) {
      const audit = await auditLedger(srv, acct);
      assert.equal(audit.available, audit.ledgerAvailable);
      assert.equal(audit.held, 0);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    }
  });

  it('a model with cache_shared serves every account from one cache, at its cache price (default 0)', async () => {
    const prompt = 'a paper boat on a puddle';
    const req = { prompt, model: 'sketch-shared', aspect_ratio: '4:3', seed: 31 };
    const mine = await generate(keyA, req);
    assert.equal((await job(keyA, mine.id)).cost.charged_eur, '0.030000');
    const theirs = await generate(keyB, req);
    const vb = await job(keyB, theirs.id);
    assert.equal(vb.cached, true, "another account's identical request is served from the shared cache");
    assert.deepEqual(vb.cost, { held_eur: '0.000000', charged_eur: '0.000000', refunded_eur: '0.030000' });
    assert.equal(calls('sketch-shared', prompt).length, 1);
    assert.ok((await pixels(mine)).data.equals((await pixels(theirs)).data));
    const audit = await auditLedger(srv, 'repro-b');
    assert.deepEqual([audit.unbalancedTerminalJobs, audit.chargeMismatches, audit.held], [[], [], 0]);
  });
});

describe('catalogue checks of the result cache', () => {
  const start = async (entry: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-repro-bad-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(file, `models:\n  - ${entry}\n`);
    try {
      const srv = await EaselProcess.start({ env: { EASEL_MODELS_FILE: file, EASEL_OPENAI_API_KEY: 'sk-test-unused' } });
      await srv.stop();
      return 'started';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('refuses a cacheable model whose provider is not deterministic, and cache settings without cacheable', async () => {
    const vendor = await start('{ id: gpt, name: G, description: d, provider: openai, operations: [generate], price_eur: "0.040000", cacheable: true }');
    assert.match(vendor, /model "gpt" is cacheable, but its provider \(openai\) is not deterministic/);
    const stray = await start('{ id: s, name: S, description: d, provider: sketch, operations: [generate], price_eur: "0.010000", cache_shared: true }');
    assert.match(stray, /model "s" sets cache_shared but is not cacheable/);
    const dear = await start('{ id: s, name: S, description: d, provider: sketch, operations: [generate], price_eur: "0.010000", cacheable: true, cache_price_eur: "0.02" }');
    assert.match(dear, /cache_price_eur 0.02 above its price_eur/);
    // The control: the same entry with a sound cache price starts.
    assert.equal(await start('{ id: s, name: S, description: d, provider: sketch, operations: [generate], price_eur: "0.010000", cacheable: true, cache_price_eur: "0.001" }'), 'started');
  });
});

describe('a cache entry whose files the retention sweep deleted', () => {
  let srv: EaselProcess;
  let key: string;
  let callLog: string;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-repro-stale-'));
    callLog = path.join(dir, 'calls.jsonl');
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(file, 'models:\n  - { id: sketch-cached, name: C, description: d, provider: sketch, operations: [generate], price_eur: "0.020000", cacheable: true }\n');
    // Retention shortened to 4 s (EASEL_RETENTION_S); the sweeper looks every 300 ms.
    srv = await EaselProcess.start({ env: { EASEL_MODELS_FILE: file, EASEL_PROVIDER_CALL_LOG: callLog, EASEL_RETENTION_S: '4', EASEL_RETENTION_SWEEP_MS: '300' } });
    key = await srv.createKey('repro-stale', '5');
  });
  after(async () => {
    await srv?.stop();
  });

  it('is a miss: the request is generated again and its result replaces the entry', async () => {
    const body = { prompt: 'a windmill in the snow', model: 'sketch-cached', seed: 5 };
    const gen = async () => {
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body });
      assert.equal(res.status, 200, res.text);
      return (await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key })).body;
    };
    const count = () => fs.readFileSync(callLog, 'utf8').trim().split('\n').filter((l) => l.includes('a windmill in the snow')).length;
    const first = await gen();
    assert.equal(first.cached, undefined);
    await waitFor(async () => (await api(srv.baseUrl, 'GET', `/v1/jobs/${first.job_id}`, { key })).body.result_expired === true);
    const second = await gen();
    assert.equal(second.cached, undefined, 'the kept output is gone: generated again');
    assert.equal(second.cost.charged_eur, '0.020000');
    assert.equal(count(), 2);
    const third = await gen();
    assert.equal(third.cached, true, 'the new result answers the next identical request');
    assert.equal(third.cost.charged_eur, '0.000000', 'cache_price_eur defaults to 0');
    assert.equal(count(), 2);
  });
});
