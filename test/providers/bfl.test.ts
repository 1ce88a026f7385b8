import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { request } from 'undici';
import { JobFailure } from '../../src/errors.js';
import { BFL_DEFAULT_BASE_URL, bflConfig, bflProgress, BflProvider, type BflOptions } from '../../src/providers/bfl/bfl-provider.js';
import { fitDimensions, nearestAspectRatio } from '../../src/providers/vendor/size-fit.js';
import { vendorOwnsUrl } from '../../src/providers/vendor/url-trust.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { colorFor, installLoopbackWitness, jsonBody, solidPng } from '../fakes/async-fake-kit.js';
import { BflFake } from '../fakes/bfl-fake.js';

const connects = installLoopbackWitness();
const KEY = 'bfl_SECRETkey_5e1f0c9a77d24b31';
const fake = new BflFake(KEY);

before(() => fake.start());
after(() => fake.close());
beforeEach(() => fake.reset());

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'Black Forest Labs', apiKey: KEY, apiKeyVar: 'EASEL_BFL_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 3000, maxConcurrency: 2, maxRetries: 2, ...over };
}

function provider(c: Partial<VendorConfig> = {}, o: BflOptions = {}, model = 'flux-pro-1.1'): BflProvider {
  return new BflProvider('bfl-flux', model, cfg(c), { poll: { initialMs: 10, maxMs: 30 }, retryBaseMs: 10, ...o });
}

function input(prompt = 'a red fox in the snow', over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt, width: 2048, height: 878, seed: 5, references: [], signal: new AbortController().signal, ...over };
}

async function failure(p: Promise<unknown>, code: string): Promise<JobFailure> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof JobFailure, `expected a JobFailure, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  for (const text of [e.message, JSON.stringify(e.details ?? {}), String((e as { vendorBody?: unknown }).vendorBody ?? '')]) {
    assert.ok(!text.includes(KEY) && !text.includes('SECRETkey'), `the API key leaked: ${text}`);
  }
  return e;
}

async function firstPixel(png: Buffer) {
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0], g: data[1], b: data[2] };
}

describe('BflProvider against the fake BFL API', () => {
  it('generates: submit → polls of polling_url → signed sample download, decoded', async () => {
    fake.nextJob({ polls: 3 });
    const out = await provider().generate(input());
    assert.equal(out.mime, 'image/png');
    assert.deepEqual(await firstPixel(out.bytes), colorFor('a red fox in the snow'));
    assert.deepEqual(fake.requests.map((r) => r.kind), ['submit', 'status', 'status', 'status', 'status', 'cdn']);
    const submit = fake.of('submit')[0]!;
    assert.equal(submit.path, '/v1/flux-pro-1.1');
    assert.equal(submit.headers['x-key'], KEY);
    // 2048×878 does not fit FLUX 1.1 [pro]: scaled to ≤ 1440 and snapped to multiples of 32.
    assert.deepEqual(jsonBody(submit), { prompt: 'a red fox in the snow', width: 1440, height: 608, seed: 5, output_format: 'png' });
    assert.ok(fake.of('status').every((r) => r.headers['x-key'] === KEY));
    const cdn = fake.of('cdn')[0]!;
    assert.equal(cdn.headers['x-key'], undefined, 'the delivery host never sees the key');
    assert.equal(cdn.headers.authorization, undefined);
  });

  it('fetches the short-lived sample at once: inside a 300 ms lifetime, which the fake really enforces', async () => {
    fake.sampleTtlMs = 300;
    await provider().generate(input());
    const [taskId, after] = [...fake.fetchedAfterReadyMs.entries()][0]!;
    assert.ok(after < 300, `downloaded ${after} ms after Ready`);
    // The same URL, once its lifetime is over, is refused: the adapter could not have waited.
    await new Promise((r) => setTimeout(r, 350));
    const sample = (fake.tasks.get(taskId)!.sample)!;
    const late = await request(sample);
    await late.body.text();
    assert.equal(late.statusCode, 403);
  });

  it('an already-expired sample URL → non-retryable upstream_error', async () => {
    fake.sampleTtlMs = -1000;
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.match(e.message, /403/);
    assert.ok(!e.message.includes('sig='), 'the signed URL stays out of the message');
  });

  it('retries a 429 and honours its Retry-After (measured by the fake)', async () => {
    fake.inject({ status: 429, retryAfter: 1 }, { kind: 'submit' });
    await provider().generate(input());
    const [first, second] = fake.of('submit');
    assert.equal(first!.status, 429);
    assert.equal(second!.status, 200);
    const waited = second!.at - first!.answeredAt!;
    assert.ok(waited >= 990, `retried after ${waited} ms, Retry-After asked for 1000`);
  });

  it('polling answers 429/500 are retried', async () => {
    fake.inject({ status: 500 }, { kind: 'status' }).inject({ status: 429, retryAfter: 0 }, { kind: 'status' });
    await provider().generate(input());
    assert.deepEqual(fake.of('status').slice(0, 2).map((r) => r.status), [500, 429]);
  });

  it('persistent 503 → retryable upstream_error after maxRetries + 1 attempts', async () => {
    fake.inject({ status: 503 }, { kind: 'submit', times: 100 });
    const e = await failure(provider({ maxRetries: 3 }).generate(input()), 'upstream_error');
    assert.equal(e.retryable, true);
    assert.equal(fake.of('submit').length, 4);
  });

  it('a task that stays Pending → timeout at the overall deadline', async () => {
    fake.nextJob({ outcome: 'never' });
    const started = Date.now();
    const e = await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.equal(e.retryable, true);
    assert.ok(Date.now() - started < 1500);
    assert.ok(fake.of('status').length >= 3);
  });

  it('a hanging poll is cut off by the deadline', async () => {
    fake.inject({ hang: true }, { kind: 'status', times: 100 });
    const started = Date.now();
    await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.ok(Date.now() - started < 1500);
  });

  it('401 → provider_unavailable; the echoed key appears nowhere', async () => {
    const e = await failure(provider({ apiKey: `${KEY}-old` }).generate(input()), 'provider_unavailable');
    assert.equal(e.retryable, false);
  });

  it('Request Moderated → content_rejected, input blocked', async () => {
    fake.nextJob({ outcome: 'blocked_input' });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'input' });
    assert.match(e.message, /Derivative Works Filter/);
  });

  it('Content Moderated → content_rejected, output blocked', async () => {
    fake.nextJob({ outcome: 'nsfw_output' });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'output' });
    assert.equal(fake.of('cdn').length, 0);
  });

  it('Error → non-retryable upstream_error', async () => {
    fake.nextJob({ outcome: 'error' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('"Task not found" is tolerated briefly, then fails', async () => {
    fake.inject({ status: 200, body: '{"id":"x","status":"Task not found","result":null}' }, { kind: 'status', times: 2 });
    await provider().generate(input());
    fake.reset();
    fake.inject({ status: 200, body: '{"id":"x","status":"Task not found","result":null}' }, { kind: 'status', times: 100 });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.equal(fake.of('status').length, 4);
  });

  it('malformed JSON → non-retryable upstream_error', async () => {
    fake.inject({ malformedJson: true }, { kind: 'submit' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('Ready without result.sample → non-retryable upstream_error', async () => {
    fake.nextJob({ outcome: 'malformed_result' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('a sample that is not an image → upstream_error', async () => {
    fake.nextJob({ outcome: 'not_image' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('the circuit breaker opens after repeated failures and then stops calling BFL', async () => {
    fake.inject({ status: 500 }, { kind: 'submit', times: 100 });
    const p = provider({ maxRetries: 1 }, { breaker: new CircuitBreaker('Black Forest Labs', 4, 60_000) });
    await failure(p.generate(input()), 'upstream_error');
    await failure(p.generate(input()), 'upstream_error');
    assert.equal(fake.of('submit').length, 4);
    const e = await failure(p.generate(input()), 'provider_unavailable');
    assert.match(e.message, /paused/);
    assert.equal(fake.of('submit').length, 4);
  });

  it('kontext edit: aspect_ratio and input_image as base64 (the fake decodes it)', async () => {
    const src = await solidPng(48, 32, { r: 250, g: 200, b: 0 });
    const p = provider({}, {}, 'flux-kontext-pro');
    assert.deepEqual(p.capabilities.operations, ['generate', 'edit', 'combine']);
    const out = await p.edit!({ ...input('make it autumn', { width: 1248, height: 832 }), image: { bytes: src } });
    await sharp(out.bytes).stats();
    const body = jsonBody(fake.of('submit')[0]!);
    assert.equal(fake.of('submit')[0]!.path, '/v1/flux-kontext-pro');
    assert.equal(body.aspect_ratio, '3:2');
    assert.equal(body.width, undefined);
    assert.equal(body.input_image, src.toString('base64'));
    assert.deepEqual(fake.decodedInputs.map((d) => [d.width, d.height, d.color]), [[48, 32, { r: 250, g: 200, b: 0 }]]);
  });

  it('kontext combine: input_image, input_image_2, input_image_3', async () => {
    const imgs = await Promise.all([1, 2, 3].map((i) => solidPng(16 * i, 16, { r: 80 * i, g: 0, b: 0 })));
    await provider({}, {}, 'flux-pro-1.1 combine=flux-kontext-max').combine!({ ...input('a collage'), images: imgs.map((bytes) => ({ bytes })) });
    const submit = fake.of('submit')[0]!;
    assert.equal(submit.path, '/v1/flux-kontext-max');
    assert.deepEqual(Object.keys(jsonBody(submit)).filter((k) => k.startsWith('input_image')), ['input_image', 'input_image_2', 'input_image_3']);
    assert.deepEqual(fake.decodedInputs.map((d) => d.width), [16, 32, 48]);
  });

  it('combine refuses more images than the model takes, before calling BFL', async () => {
    const img = { bytes: await solidPng(8, 8, { r: 1, g: 2, b: 3 }) };
    const e = await failure(provider({}, {}, 'flux-kontext-pro').combine!({ ...input('too many'), images: [img, img, img, img, img] }), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.equal(fake.requests.length, 0);
  });

  it('flux-pro-1.1 alone does not claim edit/combine; routes must name image models', () => {
    const p = provider();
    assert.deepEqual(p.capabilities, { operations: ['generate'], multiturn: false, maxConcurrency: 2 });
    assert.equal(p.edit, undefined);
    assert.throws(() => provider({}, {}, 'flux-pro-1.1 edit=flux-dev'), /takes no input images/);
    assert.throws(() => provider({}, {}, 'flux-pro-1.1 edit=flux-kontext-pro#input_image'), /no #field/);
    assert.deepEqual(provider({}, { combine: false }, 'flux-kontext-pro').capabilities.operations, ['generate', 'edit']);
  });

  it('a kontext model takes a generate request\'s reference images itself', async () => {
    const ref = await solidPng(24, 24, { r: 3, g: 150, b: 3 });
    await provider({}, {}, 'flux-kontext-pro').generate({ ...input('a garden'), figures: [{ key: 'tom', appearance: 'a tall boy', reference: { bytes: ref } }] });
    const body = jsonBody(fake.of('submit')[0]!);
    assert.equal(body.input_image, ref.toString('base64'));
    assert.match(String(body.prompt), /tom: a tall boy \(reference: image 1\)/);
  });

  it('more references than fit: they are left out and described in words', async () => {
    const img = { bytes: await solidPng(8, 8, { r: 1, g: 2, b: 3 }) };
    await provider({}, {}, 'flux-kontext-pro').edit!({ ...input('brighter'), image: img, references: [img, img, img, img] });
    const body = jsonBody(fake.of('submit')[0]!);
    assert.deepEqual(Object.keys(body).filter((k) => k.startsWith('input_image')), ['input_image']);
    assert.doesNotMatch(String(body.prompt), /Reference images/);
  });

  it('without a key: provider_unavailable naming the env var, no call made', async () => {
    const e = await failure(provider({ apiKey: null }).generate(input()), 'provider_unavailable');
    assert.match(e.message, /EASEL_BFL_API_KEY/);
    assert.equal(fake.requests.length, 0);
  });

  it('sizing and URL-ownership helpers', () => {
    assert.deepEqual(fitDimensions(1024, 1024, { step: 32, minSide: 256, maxSide: 1440 }), { width: 1024, height: 1024 });
    assert.deepEqual(fitDimensions(4096, 1756, { step: 32, minSide: 256, maxSide: 1440 }), { width: 1440, height: 608 });
    assert.deepEqual(fitDimensions(100, 50, { step: 32, minSide: 256, maxSide: 1440 }), { width: 512, height: 256 });
    assert.equal(nearestAspectRatio(1344, 576, ['21:9', '16:9', '1:1']), '21:9');
    // BFL answers regional polling hosts; our key may go there, never to a foreign host.
    assert.equal(vendorOwnsUrl('https://api.bfl.ai', 'https://api.eu1.bfl.ai/v1/get_result?id=1'), true);
    assert.equal(vendorOwnsUrl('https://api.bfl.ai', 'https://api.bfl.ai.evil.example/v1/get_result'), false);
    assert.equal(vendorOwnsUrl('https://api.bfl.ai', 'http://api.bfl.ai/v1/get_result'), false);
    assert.equal(vendorOwnsUrl('http://127.0.0.1:5000', 'http://127.0.0.1:5001/x'), false);
  });

  it('bflConfig reads EASEL_BFL_* and defaults to api.bfl.ai', () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('EASEL_BFL_')) delete process.env[k];
      assert.equal(bflConfig().baseUrl, BFL_DEFAULT_BASE_URL);
      process.env.EASEL_BFL_BASE_URL = 'https://api.eu.bfl.ai/';
      process.env.EASEL_BFL_TIMEOUT_MS = '90000';
      const c = bflConfig();
      assert.equal(c.baseUrl, 'https://api.eu.bfl.ai');
      assert.equal(c.timeoutMs, 90000);
      assert.equal(c.apiKeyVar, 'EASEL_BFL_API_KEY');
    } finally {
      process.env = saved;
    }
  });

  it('progress: queued while progress is null, then sampling with BFL\'s rising progress; params as sent', async () => {
    fake.nextJob({ polls: 6 });
    const events: ProviderProgress[] = [];
    const p = provider({}, { input: { steps: 30, guidance: 2.5 } }, 'flux-dev');
    assert.equal(p.adapterVersion, 'bfl/2');
    const out = await p.generate(input('a red fox in the snow', { onProgress: (e) => void events.push(e) }));
    assert.deepEqual(events.map((e) => e.stage), ['queued', 'queued', 'queued', 'sampling', 'sampling', 'sampling', 'sampling']);
    const fractions = events.filter((e) => e.stage === 'sampling').map((e) => e.fraction!);
    assert.deepEqual(fractions, [0.2, 0.4, 0.6, 0.8]);
    assert.ok(events.every((e) => e.preview === undefined));
    assert.deepEqual(out.params, { vendor_model: 'flux-dev', seed: 5, steps: 30, guidance: 2.5 });
  });

  it('params: the seed the result reports wins; an edit reports the kontext endpoint', async () => {
    fake.reportedSeed = 4242;
    const src = await solidPng(40, 30, { r: 200, g: 10, b: 20 });
    const out = await provider({}, {}, 'flux-pro-1.1 edit=flux-kontext-pro').edit!({ ...input('make it blue'), image: { bytes: src } });
    assert.deepEqual(out.params, { vendor_model: 'flux-kontext-pro', seed: 4242 });
  });

  it('progress numbers: 0…1 as they are, percent above 1, anything else no fraction', () => {
    assert.deepEqual(bflProgress({ status: 'Pending', progress: 0.35 }), { stage: 'sampling', fraction: 0.35 });
    assert.deepEqual(bflProgress({ status: 'Pending', progress: 35 }), { stage: 'sampling', fraction: 0.35 });
    assert.deepEqual(bflProgress({ status: 'Pending', progress: null }), { stage: 'queued' });
    assert.deepEqual(bflProgress({ status: 'Processing', progress: 'x' }), { stage: 'sampling' });
  });

  it('no progress after a caller abort', async () => {
    fake.nextJob({ outcome: 'never' });
    const ac = new AbortController();
    const events: ProviderProgress[] = [];
    const p = provider().generate(
      input('x', {
        signal: ac.signal,
        onProgress: (e) => {
          events.push(e);
          if (events.length === 2) ac.abort();
        },
      }),
    );
    await failure(p, 'timeout');
    const polls = fake.of('status').length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, 2);
    assert.equal(fake.of('status').length, polls, 'polling stopped');
  });

  it('every connection went to 127.0.0.1', () => {
    assert.ok(connects.length > 0);
    assert.ok(connects.every((h) => h === '127.0.0.1'), connects.join(','));
  });
});
