import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import OpenAI, { AuthenticationError, BadRequestError, RateLimitError, toFile } from 'openai';
import { EaselProcess, MODE, api, download } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

/**
 * The OpenAI-compatible images API driven by the official `openai` SDK (6.x, the last major that
 * runs on Node 20) over loopback against a real server: every call is an Easel job, listed and
 * charged to the cent in the ledger; every error arrives as the SDK's own typed error.
 */
describe(`OpenAI-compatible images (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let client: OpenAI;
  /** Every job the successful calls made, in order. */
  const jobIds: string[] = [];

  const openai = (apiKey: string, base = srv.baseUrl) => new OpenAI({ apiKey, baseURL: `${base}/v1`, maxRetries: 0 });
  const easelOf = (r: unknown) => (r as { easel: { job_ids: string[]; cost_eur: string; model: string } }).easel;
  const rgbAt = async (bytes: Buffer, x: number, y: number) => {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  };

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('openai-main', '10');
    client = openai(key);
  });
  after(() => srv.stop());

  it('generations with response_format url: a signed URL whose bytes decode at exactly the size asked for', async () => {
    const r = await client.images.generate({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk', size: '1536x1024', response_format: 'url', user: 'end-user-7' });
    assert.equal(r.data?.length, 1);
    assert.ok(typeof r.created === 'number' && r.created > 1_700_000_000);
    const url = r.data![0]!.url!;
    const dl = await download(url);
    assert.equal(dl.status, 200);
    const meta = await sharp(dl.bytes).metadata();
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [1536, 1024]);
    assert.equal(r.size, '1536x1024');
    assert.equal(r.output_format, 'png');
    assert.equal(easelOf(r).job_ids.length, 1);
    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${easelOf(r).job_ids[0]}`, { key })).body;
    assert.equal(job.operation, 'image');
    assert.deepEqual(job.metadata, { openai_user: 'end-user-7' });
    jobIds.push(...easelOf(r).job_ids);
  });

  it('generations with b64_json: the bytes decode in the output_format, at one of the model\u2019s own sizes', async () => {
    const r = await client.images.generate({ prompt: 'a red fox in snow', size: '1024x576' as never, response_format: 'b64_json', output_format: 'webp' });
    const bytes = Buffer.from(r.data![0]!.b64_json!, 'base64');
    const meta = await sharp(bytes).metadata();
    assert.equal(meta.format, 'webp');
    assert.deepEqual([meta.width, meta.height], [1024, 576]);
    assert.equal(r.data![0]!.url, undefined);
    jobIds.push(...easelOf(r).job_ids);
  });

  it('n = 3: three jobs, three different images, all 1024x1024 (size auto)', async () => {
    const r = await client.images.generate({ model: 'dall-e-3', prompt: 'three sailing boats', n: 3, size: 'auto', response_format: 'b64_json' });
    assert.equal(r.data?.length, 3);
    const ids = easelOf(r).job_ids;
    assert.equal(ids.length, 3);
    assert.equal(new Set(ids).size, 3);
    const images = r.data!.map((d) => Buffer.from(d.b64_json!, 'base64'));
    for (const b of images) {
      const m = await sharp(b).metadata();
      assert.deepEqual([m.width, m.height], [1024, 1024]);
    }
    assert.equal(new Set(images.map((b) => b.toString('base64'))).size, 3, 'each of n gets its own seed');
    assert.equal(easelOf(r).cost_eur, '0.060000');
    jobIds.push(...ids);
  });

  it('edits: an uploaded image and a mask; outside the mask\u2019s hole the input is kept', async () => {
    const input = await sharp({ create: { width: 512, height: 512, channels: 3, background: { r: 0, g: 0, b: 255 } } }).png().toBuffer();
    // Left half transparent (may change), right half opaque (kept).
    const maskPixels = Buffer.alloc(512 * 512 * 4);
    for (let y = 0; y < 512; y++) for (let x = 256; x < 512; x++) maskPixels[(y * 512 + x) * 4 + 3] = 255;
    const mask = await sharp(maskPixels, { raw: { width: 512, height: 512, channels: 4 } }).png().toBuffer();
    const r = await client.images.edit({
      model: 'gpt-image-1',
      image: await toFile(input, 'input.png', { type: 'image/png' }),
      mask: await toFile(mask, 'mask.png', { type: 'image/png' }),
      prompt: 'make it black and white',
      size: '1024x1024',
      response_format: 'b64_json',
    });
    const out = Buffer.from(r.data![0]!.b64_json!, 'base64');
    const meta = await sharp(out).metadata();
    assert.deepEqual([meta.width, meta.height], [1024, 1024]);
    assert.deepEqual(await rgbAt(out, 900, 512), [0, 0, 255], 'the masked-off half is the input');
    assert.notDeepEqual(await rgbAt(out, 100, 512), [0, 0, 255], 'the hole shows the edit');
    const ids = easelOf(r).job_ids;
    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${ids[0]}`, { key })).body;
    assert.equal(job.operation, 'edit_image');
    assert.equal(job.status, 'completed');
    jobIds.push(...ids);

    // Without a mask, a url answer; size auto follows the input (square, 1K).
    const plain = await client.images.edit({ image: await toFile(input, 'input.png', { type: 'image/png' }), prompt: 'make it green' });
    const dl = await download(plain.data![0]!.url!);
    const m2 = await sharp(dl.bytes).metadata();
    assert.deepEqual([m2.width, m2.height], [1024, 1024]);
    jobIds.push(...easelOf(plain).job_ids);
  });

  it('401 invalid_api_key as AuthenticationError', async () => {
    await assert.rejects(openai('esl_' + 'x'.repeat(40)).images.generate({ prompt: 'a cat' }), (e: unknown) => {
      assert.ok(e instanceof AuthenticationError, String(e));
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      assert.equal(e.type, 'invalid_request_error');
      assert.equal((e.error as { easel_code: string }).easel_code, 'auth_invalid');
      return true;
    });
  });

  it('400 content_policy_violation as BadRequestError; nothing charged, no job', async () => {
    const before = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key });
    await assert.rejects(client.images.generate({ prompt: 'a gory battlefield with dismembered soldiers' }), (e: unknown) => {
      assert.ok(e instanceof BadRequestError, String(e));
      assert.equal(e.code, 'content_policy_violation');
      assert.match(String((e.error as { request_id: string }).request_id), /\S/);
      assert.equal(e.requestID, (e.error as { request_id: string }).request_id);
      return true;
    });
    const file = await toFile(await sharp({ create: { width: 64, height: 64, channels: 3, background: '#888' } }).png().toBuffer(), 'in.png', { type: 'image/png' });
    await assert.rejects(client.images.edit({ image: file, prompt: 'a gory battlefield with dismembered soldiers' }), (e: unknown) => e instanceof BadRequestError && e.code === 'content_policy_violation');
    const afterList = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key });
    assert.equal(afterList.body.total, before.body.total);
  });

  it('400 BadRequestError naming the param: a size the model does not make, an unknown model, n over 10, stream', async () => {
    const cases: [() => Promise<unknown>, string][] = [
      [() => client.images.generate({ prompt: 'a tree', size: '1000x1000' as never }), 'size'],
      [() => client.images.generate({ prompt: 'a tree', model: 'no-such-model' }), 'model'],
      [() => client.images.generate({ prompt: 'a tree', n: 11 }), 'n'],
      [() => client.images.generate({ prompt: 'a tree', stream: true } as never), 'stream'],
    ];
    for (const [call, param] of cases) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof BadRequestError, String(e));
        assert.equal(e.status, 400);
        assert.equal(e.param, param);
        return true;
      });
    }
  });

  it('429 insufficient_quota as RateLimitError when the balance cannot cover all n images: no job, nothing held', async () => {
    const poor = await srv.createKey('openai-poor', '0.05');
    await assert.rejects(openai(poor).images.generate({ prompt: 'a quiet harbour', n: 3 }), (e: unknown) => {
      assert.ok(e instanceof RateLimitError, String(e));
      assert.equal(e.code, 'insufficient_quota');
      assert.equal(e.type, 'insufficient_quota');
      assert.equal(e.headers.get('x-should-retry'), 'false');
      return true;
    });
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: poor })).body;
    assert.equal(profile.user.balance_eur, '0.050000');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: poor })).body.total, 0);
    // Two images are covered.
    const two = await openai(poor).images.generate({ prompt: 'a quiet harbour', n: 2 });
    assert.equal(two.data?.length, 2);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: poor })).body.user.balance_eur, '0.010000');
  });

  it('429 rate_limit_exceeded as RateLimitError past the per-key request rate', async () => {
    const limited = await EaselProcess.start({ env: { EASEL_RATE_LIMIT_PER_MIN: '2' } });
    try {
      const k = await limited.createKey('openai-limited', '1');
      const c = openai(k, limited.baseUrl);
      for (let i = 0; i < 2; i++) await assert.rejects(c.images.generate({ prompt: 'a tree', size: '1000x1000' as never }), BadRequestError);
      await assert.rejects(c.images.generate({ prompt: 'a tree' }), (e: unknown) => {
        assert.ok(e instanceof RateLimitError, String(e));
        assert.equal(e.code, 'rate_limit_exceeded');
        assert.match(e.headers.get('retry-after') ?? '', /^\d+$/);
        return true;
      });
    } finally {
      await limited.stop();
    }
  });

  it('every call is a completed job in GET /v1/jobs, and the ledger is exact', async () => {
    assert.equal(jobIds.length, 7);
    const list = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body;
    assert.equal(list.total, jobIds.length);
    const listed = new Set(list.generations.map((j: { job_id: string }) => j.job_id));
    let charged = 0;
    for (const id of jobIds) {
      assert.ok(listed.has(id), `${id} listed`);
      const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
      assert.equal(job.status, 'completed');
      assert.equal(job.cost.charged_eur, '0.020000');
      charged += 20_000;
    }
    const ledger = (await api(srv.baseUrl, 'GET', '/v1/account/ledger?limit=100', { key })).body;
    for (const id of jobIds) {
      const rows = ledger.entries.filter((e: { job_id: string | null }) => e.job_id === id);
      const kinds = rows.map((e: { kind: string }) => e.kind).sort();
      assert.deepEqual(kinds, ['capture', 'hold']);
      const spent = rows.reduce((s: number, e: { amount_eur: string }) => s + Math.round(Number(e.amount_eur) * 1e6), 0);
      const held = rows.reduce((s: number, e: { held_delta_eur: string }) => s + Math.round(Number(e.held_delta_eur) * 1e6), 0);
      assert.equal(spent, -20_000);
      assert.equal(held, 0);
    }
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body;
    assert.equal(profile.user.balance_eur, ((10_000_000 - charged) / 1e6).toFixed(6));
    const audit = await auditLedger(srv, 'openai-main');
    assert.equal(audit.available, audit.ledgerAvailable);
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, charged);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });
});
