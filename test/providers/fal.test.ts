import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import { FAL_DEFAULT_BASE_URL, falConfig, FalProvider, type FalOptions } from '../../src/providers/fal/fal-provider.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { Limiter } from '../../src/providers/vendor/limiter.js';
import { colorFor, installLoopbackWitness, jsonBody, solidPng } from '../fakes/async-fake-kit.js';
import { FalFake } from '../fakes/fal-fake.js';

const connects = installLoopbackWitness();
const KEY = 'fal-key-id-7f3a:SECRET-fal-9d2c41e8b6';
const fake = new FalFake(KEY, {
  'fal-ai/flux-pro/v1.1': 't2i',
  'fal-ai/flux/dev': 't2i',
  'fal-ai/flux-pro/kontext': 'edit',
  'fal-ai/flux-pro/kontext/max/multi': 'multi',
  'fal-ai/nano-banana': 't2i',
  'fal-ai/nano-banana/edit': 'multi',
});

before(() => fake.start());
after(() => fake.close());
beforeEach(() => fake.reset());

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'fal.ai', apiKey: KEY, apiKeyVar: 'EASEL_FAL_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 3000, maxConcurrency: 2, maxRetries: 2, ...over };
}

const ROUTES = 'fal-ai/flux-pro/v1.1 edit=fal-ai/flux-pro/kontext combine=fal-ai/flux-pro/kontext/max/multi';

function provider(c: Partial<VendorConfig> = {}, o: FalOptions = {}, vendorModel = ROUTES): FalProvider {
  return new FalProvider('fal-flux-pro', vendorModel, cfg(c), { poll: { initialMs: 10, maxMs: 30 }, retryBaseMs: 10, ...o });
}

function input(prompt = 'a red fox in the snow', over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt, width: 96, height: 64, seed: 7, references: [], signal: new AbortController().signal, ...over };
}

/** Asserts the failure's code and that the key shows up nowhere in it; returns it for more checks. */
async function failure(p: Promise<unknown>, code: string): Promise<JobFailure & { vendorBody?: string }> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof JobFailure, `expected a JobFailure, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  for (const text of [e.message, JSON.stringify(e.details ?? {}), String((e as { vendorBody?: unknown }).vendorBody ?? '')]) {
    assert.ok(!text.includes(KEY) && !text.includes('SECRET-fal'), `the API key leaked: ${text}`);
  }
  return e as JobFailure & { vendorBody?: string };
}

async function firstPixel(png: Buffer) {
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0], g: data[1], b: data[2] };
}

describe('FalProvider against the fake fal.ai queue', () => {
  it('generates: submit → status polls → response → CDN download, decoded with sharp', async () => {
    fake.nextJob({ polls: 3 });
    const out = await provider().generate(input());
    assert.equal(out.mime, 'image/png');
    const meta = await sharp(out.bytes).metadata();
    assert.equal(meta.width, 96);
    assert.equal(meta.height, 64);
    assert.deepEqual(await firstPixel(out.bytes), colorFor('a red fox in the snow'));

    assert.deepEqual(
      fake.requests.map((r) => r.kind),
      ['submit', 'status', 'status', 'status', 'status', 'result', 'cdn'],
    );
    const submit = fake.of('submit')[0]!;
    assert.equal(submit.path, '/fal-ai/flux-pro/v1.1');
    assert.equal(submit.headers.authorization, `Key ${KEY}`);
    assert.deepEqual(jsonBody(submit), { prompt: 'a red fox in the snow', image_size: { width: 96, height: 64 }, seed: 7, num_images: 1, output_format: 'png' });
    // Status and result go to the URLs fal handed back, and the CDN never sees our key.
    assert.match(fake.of('status')[0]!.path, /^\/fal-ai\/flux-pro\/requests\/[\w-]+\/status$/);
    assert.equal(fake.of('cdn')[0]!.headers.authorization, undefined);
  });

  it('different prompts give different images', async () => {
    fake.defaults.polls = 0;
    const p = provider();
    const [a, b] = await Promise.all([p.generate(input('a lighthouse')), p.generate(input('a teapot'))]);
    assert.notDeepEqual(await firstPixel(a.bytes), await firstPixel(b.bytes));
  });

  it('retries a 429 and honours its Retry-After (measured by the fake)', async () => {
    fake.inject({ status: 429, retryAfter: 1 }, { kind: 'submit' });
    const out = await provider().generate(input());
    assert.ok(out.bytes.length > 0);
    const [first, second] = fake.of('submit');
    assert.equal(first!.status, 429);
    assert.equal(second!.status, 200);
    const waited = second!.at - first!.answeredAt!;
    assert.ok(waited >= 990, `retried after ${waited} ms, Retry-After asked for 1000`);
  });

  it('status polls that answer 429/5xx go through the retry policy', async () => {
    fake.inject({ status: 503 }, { kind: 'status' }).inject({ status: 429, retryAfter: 0 }, { kind: 'status' });
    const out = await provider().generate(input());
    assert.ok(out.bytes.length > 0);
    assert.deepEqual(fake.of('status').slice(0, 2).map((r) => r.status), [503, 429]);
  });

  it('persistent 503 → retryable upstream_error after maxRetries + 1 attempts', async () => {
    fake.inject({ status: 503 }, { kind: 'submit', times: 100 });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, true);
    assert.equal(fake.of('submit').length, 3);
  });

  it('a request that never completes → timeout at the overall deadline, and fal is asked to cancel it', async () => {
    fake.nextJob({ outcome: 'never' });
    const started = Date.now();
    const e = await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.equal(e.retryable, true);
    assert.ok(Date.now() - started < 1500);
    assert.ok(fake.of('status').length >= 3);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.of('cancel').length, 1);
  });

  it('a hanging status call is cut off by the deadline', async () => {
    fake.inject({ hang: true }, { kind: 'status', times: 100 });
    const started = Date.now();
    await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.ok(Date.now() - started < 1500);
  });

  it('401 → provider_unavailable, and the key (echoed by fal) appears nowhere', async () => {
    const p = new FalProvider('fal-flux-pro', 'fal-ai/flux-pro/v1.1', { ...cfg(), apiKey: `${KEY}-wrong` }, { poll: { initialMs: 10, maxMs: 30 }, retryBaseMs: 10 });
    const e = await p.generate(input()).catch((x: unknown) => x as JobFailure & { vendorBody?: string });
    assert.ok(e instanceof JobFailure);
    assert.equal(e.code, 'provider_unavailable');
    assert.equal(e.retryable, false);
    assert.ok(!e.message.includes(KEY));
    assert.ok(!String(e.vendorBody).includes(KEY), 'the echoed key must be scrubbed from the kept vendor body');
    assert.match(String(e.vendorBody), /\[redacted\]/);
    assert.equal(fake.of('submit').length, 1, 'bad credentials are not retried');
  });

  it('has_nsfw_concepts: [true] → content_rejected, output blocked', async () => {
    fake.nextJob({ outcome: 'nsfw_output' });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'output' });
    assert.equal(fake.of('cdn').length, 0, 'a blocked image is not even downloaded');
  });

  it('content_policy_violation on the prompt → content_rejected, input blocked', async () => {
    fake.nextJob({ outcome: 'blocked_input' });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'input' });
    assert.equal(e.retryable, false);
  });

  it('a request fal reports failed → non-retryable upstream_error, result asked for once', async () => {
    fake.nextJob({ outcome: 'error' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.equal(fake.of('result').length, 1);
  });

  it('malformed JSON → non-retryable upstream_error', async () => {
    fake.inject({ malformedJson: true }, { kind: 'status' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('a result without images → non-retryable upstream_error', async () => {
    fake.nextJob({ outcome: 'malformed_result' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('a result URL serving something that is not an image → upstream_error', async () => {
    fake.nextJob({ outcome: 'not_image' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.equal(fake.of('cdn').length, 1);
  });

  it('the circuit breaker opens after repeated failures and then stops calling fal', async () => {
    fake.inject({ status: 503 }, { kind: 'submit', times: 100 });
    const p = provider({ maxRetries: 0 }, { breaker: new CircuitBreaker('fal.ai', 3, 60_000) });
    for (let i = 0; i < 3; i++) await failure(p.generate(input()), 'upstream_error');
    assert.equal(fake.of('submit').length, 3);
    const e = await failure(p.generate(input()), 'provider_unavailable');
    assert.equal(e.retryable, true);
    assert.equal(fake.of('submit').length, 3, 'no call while the circuit is open');
  });

  it('edit sends the input image as a data URI in image_url (the fake decodes it)', async () => {
    const src = await solidPng(40, 30, { r: 200, g: 10, b: 20 });
    const out = await provider().edit!({ ...input('make it blue', { width: 96, height: 72 }), image: { bytes: src } });
    await sharp(out.bytes).stats();
    const submit = fake.of('submit')[0]!;
    assert.equal(submit.path, '/fal-ai/flux-pro/kontext');
    assert.match(String(jsonBody(submit).image_url), /^data:image\/png;base64,/);
    assert.equal(jsonBody(submit).aspect_ratio, '4:3');
    assert.deepEqual(fake.decodedInputs.map((d) => [d.width, d.height, d.format, d.color]), [[40, 30, 'png', { r: 200, g: 10, b: 20 }]]);
  });

  it('combine sends every input in image_urls', async () => {
    const a = await solidPng(20, 20, { r: 255, g: 0, b: 0 });
    const b = await sharp({ create: { width: 24, height: 16, channels: 3, background: { r: 0, g: 0, b: 255 } } }).jpeg().toBuffer();
    await provider().combine!({ ...input('put them side by side'), images: [{ bytes: a }, { bytes: b }] });
    const body = jsonBody(fake.of('submit')[0]!);
    assert.equal(fake.of('submit')[0]!.path, '/fal-ai/flux-pro/kontext/max/multi');
    assert.equal((body.image_urls as string[]).length, 2);
    assert.match((body.image_urls as string[])[1]!, /^data:image\/jpeg;base64,/);
    assert.deepEqual(fake.decodedInputs.map((d) => [d.width, d.height, d.format]), [[20, 20, 'png'], [24, 16, 'jpeg']]);
  });

  it('generate with reference images goes to the combine model, references numbered in the prompt', async () => {
    const ref = await solidPng(20, 20, { r: 9, g: 9, b: 250 });
    const mira = await solidPng(10, 10, { r: 250, g: 9, b: 9 });
    await provider().generate({
      ...input('a picnic'),
      references: [{ bytes: ref, description: 'the park' }],
      figures: [{ key: 'mira', appearance: 'a girl in a red coat', reference: { bytes: mira } }, { key: 'ben', appearance: 'an old man' }],
    });
    const submit = fake.of('submit')[0]!;
    assert.equal(submit.path, '/fal-ai/flux-pro/kontext/max/multi');
    const body = jsonBody(submit);
    assert.equal((body.image_urls as string[]).length, 2);
    assert.match(String(body.prompt), /^a picnic/);
    assert.match(String(body.prompt), /mira: a girl in a red coat \(reference: image 2\)/);
    assert.match(String(body.prompt), /image 1 \(the park\)/);
    assert.deepEqual(fake.decodedInputs.map((d) => d.color), [{ r: 9, g: 9, b: 250 }, { r: 250, g: 9, b: 9 }]);
  });

  it('without an image route, references are dropped and figures described in words', async () => {
    const mira = await solidPng(10, 10, { r: 250, g: 9, b: 9 });
    const p = provider({}, {}, 'fal-ai/flux-pro/v1.1');
    assert.equal(p.edit, undefined);
    assert.equal(p.combine, undefined);
    await p.generate({ ...input('a picnic'), references: [{ bytes: mira }], figures: [{ key: 'mira', appearance: 'a girl in a red coat', reference: { bytes: mira } }] });
    const body = jsonBody(fake.of('submit')[0]!);
    assert.equal(fake.of('submit')[0]!.path, '/fal-ai/flux-pro/v1.1');
    assert.equal(body.image_urls, undefined);
    assert.match(String(body.prompt), /- mira: a girl in a red coat$/m);
    assert.doesNotMatch(String(body.prompt), /image \d/);
  });

  it('a shared limiter bounds concurrency across models of the same account', async () => {
    fake.defaults.polls = 2;
    const limiter = new Limiter(1);
    const a = provider({}, { limiter });
    const b = provider({}, { limiter }, 'fal-ai/flux/dev');
    await Promise.all([a.generate(input('one')), b.generate(input('two'))]);
    const kinds = fake.requests.map((r) => r.kind);
    assert.equal(kinds.indexOf('cdn'), kinds.lastIndexOf('submit') - 1, kinds.join(','));
  });

  it('the vendor_model string is checked at construction', () => {
    assert.throws(() => new FalProvider('x', 'fal-ai/flux-pro/v1.1 edit', cfg()), /edit=<model>/);
    assert.throws(() => new FalProvider('x', 'fal-ai/flux-pro/v1.1 edit=fal-ai/flux-pro/kontext#image', cfg()), /#image_url or #image_urls/);
    assert.throws(() => new FalProvider('x', 'edit=fal-ai/flux-pro/kontext', cfg()), /first word/);
    const p = new FalProvider('x', 'fal-ai/nano-banana edit=fal-ai/nano-banana/edit#image_urls', cfg());
    assert.deepEqual(p.capabilities.operations, ['generate', 'edit']);
  });

  it('without a key: provider_unavailable naming the env var, no call made', async () => {
    const e = await failure(provider({ apiKey: null }).generate(input()), 'provider_unavailable');
    assert.match(e.message, /EASEL_FAL_API_KEY/);
    assert.equal(fake.requests.length, 0);
  });

  it('a caller abort ends the generation promptly', async () => {
    fake.nextJob({ outcome: 'never' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    await failure(provider().generate(input('x', { signal: ac.signal })), 'timeout');
    assert.ok(Date.now() - started < 1000);
  });

  it('capabilities follow the configuration', () => {
    assert.deepEqual(provider({ maxConcurrency: 3 }).capabilities, { operations: ['generate', 'edit', 'combine'], multiturn: false, maxConcurrency: 3 });
    const plain = new FalProvider('p', 'fal-ai/flux-pro/v1.1', cfg());
    assert.equal(plain.edit, undefined);
    assert.deepEqual(plain.capabilities.operations, ['generate']);
  });

  it('max concurrency is enforced: the second job waits for the first', async () => {
    fake.defaults.polls = 2;
    const p = provider({ maxConcurrency: 1 });
    await Promise.all([p.generate(input('first')), p.generate(input('second'))]);
    const kinds = fake.requests.map((r) => r.kind);
    assert.equal(kinds.indexOf('cdn'), kinds.lastIndexOf('submit') - 1, kinds.join(','));
  });

  it('falConfig reads EASEL_FAL_* and defaults to queue.fal.run', () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('EASEL_FAL_')) delete process.env[k];
      assert.equal(falConfig().baseUrl, FAL_DEFAULT_BASE_URL);
      Object.assign(process.env, { EASEL_FAL_API_KEY: 'k1', EASEL_FAL_BASE_URL: 'http://127.0.0.1:9/', EASEL_FAL_TIMEOUT_MS: '5000', EASEL_FAL_MAX_CONCURRENCY: '7', EASEL_FAL_MAX_RETRIES: '1' });
      assert.deepEqual(falConfig(), { vendor: 'fal.ai', apiKey: 'k1', apiKeyVar: 'EASEL_FAL_API_KEY', baseUrl: 'http://127.0.0.1:9', timeoutMs: 5000, maxConcurrency: 7, maxRetries: 1 });
      assert.equal(new FalProvider('f', 'fal-ai/flux-pro/v1.1').capabilities.maxConcurrency, 7);
    } finally {
      process.env = saved;
    }
  });

  it('progress: queued with a falling queue position, then sampling steps climbing from the logs; params as sent and reported', async () => {
    fake.nextJob({ polls: 6 });
    const events: ProviderProgress[] = [];
    const p = provider({}, { input: { num_inference_steps: 20, guidance_scale: 3.5 } });
    assert.equal(p.adapterVersion, 'fal/2');
    const out = await p.generate(input('a red fox in the snow', { onProgress: (e) => void events.push(e) }));

    for (const st of fake.of('status')) assert.equal(st.query.get('logs'), '1', 'status is asked with logs=1');
    const queued = events.filter((e) => e.stage === 'queued');
    const sampling = events.filter((e) => e.stage === 'sampling');
    assert.deepEqual(queued.map((e) => e.queuePosition), [undefined, 2, 1, 0]);
    assert.deepEqual(sampling.map((e) => [e.step, e.steps]), [[7, 20], [13, 20], [20, 20]]);
    const fractions = sampling.map((e) => e.fraction!);
    assert.ok(fractions.every((f, i) => i === 0 || f > fractions[i - 1]!), `fractions rise: ${fractions.join(',')}`);
    const stages = events.map((e) => e.stage);
    assert.ok(stages.indexOf('sampling') > stages.lastIndexOf('queued'), 'queued comes before sampling');
    assert.ok(events.every((e) => e.preview === undefined), 'fal gives no previews');
    assert.deepEqual(out.params, { vendor_model: 'fal-ai/flux-pro/v1.1', seed: 7, steps: 20, guidance: 3.5 });
  });

  it('params: the seed fal reports wins over the one sent; edit reports the edit endpoint', async () => {
    fake.reportedSeed = 123456;
    const src = await solidPng(40, 30, { r: 200, g: 10, b: 20 });
    const out = await provider().edit!({ ...input('make it blue'), image: { bytes: src } });
    assert.equal(jsonBody(fake.of('submit')[0]!).seed, 7);
    assert.deepEqual(out.params, { vendor_model: 'fal-ai/flux-pro/kontext', seed: 123456 });
  });

  it('no progress after a caller abort', async () => {
    fake.nextJob({ outcome: 'never' });
    const ac = new AbortController();
    const events: ProviderProgress[] = [];
    let atAbort = -1;
    const e = provider().generate(
      input('x', {
        signal: ac.signal,
        onProgress: (p) => {
          events.push(p);
          if (p.queuePosition === 3 && atAbort < 0) {
            atAbort = events.length;
            ac.abort();
          }
        },
      }),
    );
    await failure(e, 'timeout');
    const polls = fake.of('status').length;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, atAbort, 'nothing reported after the abort');
    assert.equal(fake.of('status').length, polls, 'and no more polls');
    assert.equal(fake.of('cancel').length, 1, 'fal is asked to drop the request');
  });

  it('every connection went to 127.0.0.1', () => {
    assert.ok(connects.length > 0);
    assert.ok(connects.every((h) => h === '127.0.0.1'), connects.join(','));
  });
});
