import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import { Deadline } from '../../src/providers/vendor/deadline.js';
import { fetchResultImage } from '../../src/providers/vendor/result-image.js';
import { parseImageField, predictionTarget, REPLICATE_DEFAULT_BASE_URL, replicateConfig, ReplicateProvider, safetyStage, type ReplicateOptions } from '../../src/providers/replicate/replicate-provider.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { colorFor, installLoopbackWitness, jsonBody, solidPng } from '../fakes/async-fake-kit.js';
import { ReplicateFake } from '../fakes/replicate-fake.js';

const connects = installLoopbackWitness();
const KEY = 'r8_SECRETreplicateToken0123456789abcdef';
const fake = new ReplicateFake(KEY);
const SCHNELL_VERSION = '5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637';

before(() => fake.start());
after(() => fake.close());
beforeEach(() => fake.reset());

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'Replicate', apiKey: KEY, apiKeyVar: 'EASEL_REPLICATE_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 3000, maxConcurrency: 2, maxRetries: 2, ...over };
}

const ROUTES = 'black-forest-labs/flux-1.1-pro edit=black-forest-labs/flux-kontext-pro#input_image combine=google/nano-banana#image_input[]';

function provider(c: Partial<VendorConfig> = {}, o: ReplicateOptions = {}, model = ROUTES): ReplicateProvider {
  return new ReplicateProvider('replicate-flux', model, cfg(c), { poll: { initialMs: 10, maxMs: 30 }, retryBaseMs: 10, ...o });
}

function input(prompt = 'a red fox in the snow', over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt, width: 1344, height: 768, seed: 11, references: [], signal: new AbortController().signal, ...over };
}

async function failure(p: Promise<unknown>, code: string): Promise<JobFailure> {
  const e = await p.then(
    () => assert.fail('expected a failure'),
    (err: unknown) => err,
  );
  assert.ok(e instanceof JobFailure, `expected a JobFailure, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  for (const text of [e.message, JSON.stringify(e.details ?? {}), String((e as { vendorBody?: unknown }).vendorBody ?? '')]) {
    assert.ok(!text.includes(KEY) && !text.includes('SECRETreplicate'), `the API key leaked: ${text}`);
  }
  return e;
}

async function firstPixel(png: Buffer) {
  const { data } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0], g: data[1], b: data[2] };
}

describe('ReplicateProvider against the fake Replicate API', () => {
  it('generates: create (Prefer: wait) → polls of urls.get → output URL download, decoded', async () => {
    fake.nextJob({ polls: 2 });
    const out = await provider().generate(input());
    assert.equal(out.mime, 'image/png');
    assert.deepEqual(await firstPixel(out.bytes), colorFor('a red fox in the snow'));
    assert.deepEqual(fake.requests.map((r) => r.kind), ['submit', 'status', 'status', 'status', 'cdn']);
    const create = fake.of('submit')[0]!;
    assert.equal(create.path, '/v1/models/black-forest-labs/flux-1.1-pro/predictions');
    assert.equal(create.headers.authorization, `Bearer ${KEY}`);
    assert.match(String(create.headers.prefer), /^wait=\d+$/);
    assert.ok(Number(String(create.headers.prefer).slice(5)) <= 2, 'the sync wait never exceeds what the deadline leaves');
    assert.deepEqual(jsonBody(create), { input: { prompt: 'a red fox in the snow', aspect_ratio: '16:9', seed: 11, output_format: 'png' } });
    assert.equal(fake.of('cdn')[0]!.headers.authorization, undefined, 'the file CDN never sees the token');
  });

  it('a prediction finished within the sync wait needs no poll at all', async () => {
    fake.nextJob({ polls: 0 });
    await provider({ timeoutMs: 120_000 }).generate(input());
    assert.deepEqual(fake.requests.map((r) => r.kind), ['submit', 'cdn']);
    assert.equal(fake.of('submit')[0]!.headers.prefer, 'wait=60');
  });

  it('owner/name:version goes to /v1/predictions and a list output is used', async () => {
    fake.nextJob({ polls: 1 });
    const out = await provider({}, {}, `black-forest-labs/flux-schnell:${SCHNELL_VERSION}`).generate(input('a teapot'));
    assert.deepEqual(await firstPixel(out.bytes), colorFor('a teapot'));
    const create = fake.of('submit')[0]!;
    assert.equal(create.path, '/v1/predictions');
    assert.equal(jsonBody(create).version, SCHNELL_VERSION);
  });

  it('retries a 429 and honours its Retry-After (measured by the fake)', async () => {
    fake.inject({ status: 429, retryAfter: 1 }, { kind: 'submit' });
    await provider().generate(input());
    const [first, second] = fake.of('submit');
    assert.equal(first!.status, 429);
    assert.equal(second!.status, 201);
    const waited = second!.at - first!.answeredAt!;
    assert.ok(waited >= 990, `retried after ${waited} ms, Retry-After asked for 1000`);
  });

  it('poll answers 500/503 are retried', async () => {
    fake.inject({ status: 500 }, { kind: 'status' }).inject({ status: 503 }, { kind: 'status' });
    await provider().generate(input());
    assert.deepEqual(fake.of('status').slice(0, 2).map((r) => r.status), [500, 503]);
  });

  it('persistent 503 → retryable upstream_error after maxRetries + 1 attempts', async () => {
    fake.inject({ status: 503 }, { kind: 'submit', times: 100 });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, true);
    assert.equal(fake.of('submit').length, 3);
  });

  it('a prediction that never finishes → timeout, and the prediction is canceled', async () => {
    fake.nextJob({ outcome: 'never' });
    const started = Date.now();
    const e = await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.equal(e.retryable, true);
    assert.ok(Date.now() - started < 1500);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(fake.of('cancel').length, 1);
  });

  it('a hanging create is cut off by the deadline', async () => {
    fake.inject({ hang: true }, { kind: 'submit', times: 100 });
    const started = Date.now();
    await failure(provider({ timeoutMs: 400 }).generate(input()), 'timeout');
    assert.ok(Date.now() - started < 1500);
  });

  it('401 → provider_unavailable; the token (echoed back) appears nowhere', async () => {
    const p = new ReplicateProvider('r', 'black-forest-labs/flux-1.1-pro', { ...cfg(), apiKey: `${KEY}x` }, { retryBaseMs: 10 });
    const e = await failure(p.generate(input()), 'provider_unavailable');
    assert.equal(e.retryable, false);
    assert.equal(fake.of('submit').length, 1);
  });

  it('failed with "NSFW content detected" → content_rejected, output blocked', async () => {
    fake.nextJob({ outcome: 'nsfw_output' });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'output' });
  });

  it('failed with the prompt flagged as sensitive → content_rejected, input blocked', async () => {
    fake.nextJob({ outcome: 'blocked_input', polls: 0 });
    const e = await failure(provider().generate(input()), 'content_rejected');
    assert.deepEqual(e.details, { blocked: 'input' });
  });

  it('any other failure → non-retryable upstream_error without the model’s error text', async () => {
    fake.nextJob({ outcome: 'error' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.ok(!/CUDA/.test(e.message));
  });

  it('canceled → upstream_error', async () => {
    fake.nextJob({ outcome: 'canceled' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.match(e.message, /canceled/);
  });

  it('malformed JSON → non-retryable upstream_error', async () => {
    fake.inject({ malformedJson: true }, { kind: 'submit' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('an output that is not a URL → non-retryable upstream_error', async () => {
    fake.nextJob({ outcome: 'malformed_result' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('an output URL serving something that is not an image → upstream_error', async () => {
    fake.nextJob({ outcome: 'not_image' });
    const e = await failure(provider().generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
  });

  it('the circuit breaker opens after repeated failures and then stops calling Replicate', async () => {
    fake.inject({ status: 502 }, { kind: 'submit', times: 100 });
    const p = provider({ maxRetries: 0 }, { breaker: new CircuitBreaker('Replicate', 2, 60_000) });
    await failure(p.generate(input()), 'upstream_error');
    await failure(p.generate(input()), 'upstream_error');
    await failure(p.generate(input()), 'provider_unavailable');
    assert.equal(fake.of('submit').length, 2);
  });

  it('edit sends the image as a data URI in input_image (the fake decodes it)', async () => {
    const src = await solidPng(30, 40, { r: 10, g: 200, b: 30 });
    await provider().edit!({ ...input('make it night'), image: { bytes: src } });
    const create = fake.of('submit')[0]!;
    assert.equal(create.path, '/v1/models/black-forest-labs/flux-kontext-pro/predictions');
    assert.match(String((jsonBody(create).input as Record<string, unknown>).input_image), /^data:image\/png;base64,/);
    assert.deepEqual(fake.decodedInputs.map((d) => [d.width, d.height, d.color]), [[30, 40, { r: 10, g: 200, b: 30 }]]);
  });

  it('combine sends all images in the configured list field', async () => {
    const imgs = await Promise.all([solidPng(16, 16, { r: 255, g: 0, b: 0 }), solidPng(16, 16, { r: 0, g: 255, b: 0 }), solidPng(16, 16, { r: 0, g: 0, b: 255 })]);
    await provider().combine!({ ...input('a triptych'), images: imgs.map((bytes) => ({ bytes })) });
    const create = fake.of('submit')[0]!;
    assert.equal(create.path, '/v1/models/google/nano-banana/predictions');
    assert.equal(((jsonBody(create).input as Record<string, unknown>).image_input as string[]).length, 3);
    assert.deepEqual(fake.decodedInputs.map((d) => d.color), [{ r: 255, g: 0, b: 0 }, { r: 0, g: 255, b: 0 }, { r: 0, g: 0, b: 255 }]);
  });

  it('generate with references uses the combine route (list field)', async () => {
    const ref = await solidPng(12, 12, { r: 1, g: 100, b: 200 });
    await provider().generate({ ...input('a street'), references: [{ bytes: ref, description: 'the shop front' }] });
    const create = fake.of('submit')[0]!;
    assert.equal(create.path, '/v1/models/google/nano-banana/predictions');
    const inp = jsonBody(create).input as Record<string, unknown>;
    assert.equal((inp.image_input as string[]).length, 1);
    assert.match(String(inp.prompt), /Reference images: image 1 \(the shop front\)/);
  });

  it('numbered fields: input_image_1, input_image_2, …', async () => {
    fake.models['flux-kontext-apps/multi-image-kontext-pro'] = { output: 'string', imageFields: ['input_image_1', 'input_image_2'] };
    const imgs = await Promise.all([solidPng(8, 8, { r: 255, g: 0, b: 0 }), solidPng(8, 8, { r: 0, g: 255, b: 0 })]);
    const p = provider({}, {}, 'black-forest-labs/flux-1.1-pro combine=flux-kontext-apps/multi-image-kontext-pro#input_image_*');
    await p.combine!({ ...input('two in one'), images: imgs.map((bytes) => ({ bytes })) });
    const inp = jsonBody(fake.of('submit')[0]!).input as Record<string, unknown>;
    assert.deepEqual(Object.keys(inp).filter((k) => k.startsWith('input_image')), ['input_image_1', 'input_image_2']);
    assert.equal(fake.decodedInputs.length, 2);
  });

  it('model references and safety wording are parsed as documented', () => {
    assert.deepEqual(parseImageField('image_input[]'), { field: 'image_input', mode: 'array' });
    assert.deepEqual(parseImageField('input_image_*'), { field: 'input_image', mode: 'numbered' });
    assert.deepEqual(parseImageField('input_image'), { field: 'input_image', mode: 'single' });
    assert.throws(() => new ReplicateProvider('r', 'a/b edit=c/d#bad-field', cfg()));
    assert.throws(() => new ReplicateProvider('r', 'a/b combine=not-a-model', cfg()));
    assert.deepEqual(predictionTarget('black-forest-labs/flux-1.1-pro'), { url: '/v1/models/black-forest-labs/flux-1.1-pro/predictions' });
    assert.deepEqual(predictionTarget('owner/name:abc123'), { url: '/v1/predictions', version: 'abc123' });
    assert.throws(() => new ReplicateProvider('r', 'not a model', cfg()));
    assert.equal(safetyStage('NSFW content detected. Try running it again, or try a different prompt.'), 'output');
    assert.equal(safetyStage('Your prompt was flagged by the safety filter'), 'input');
    assert.equal(safetyStage('Flagged as sensitive. (E005)'), 'output');
    assert.equal(safetyStage('CUDA out of memory'), null);
  });

  it('a data: URI output is decoded without a download', async () => {
    const png = await solidPng(12, 10, { r: 1, g: 2, b: 3 });
    const d = new Deadline('Replicate', 1000);
    try {
      const out = await fetchResultImage('Replicate', `data:image/png;base64,${png.toString('base64')}`, { deadline: d, maxBytes: 1e6, maxRetries: 0, allowLoopbackHttp: false });
      assert.deepEqual(out, { bytes: png, mime: 'image/png' });
      await failure(fetchResultImage('Replicate', 'data:image/png;base64,aGVsbG8=', { deadline: d, maxBytes: 1e6, maxRetries: 0, allowLoopbackHttp: false }), 'upstream_error');
    } finally {
      d.dispose();
    }
  });

  it('result URLs on loopback/http are refused unless the base URL itself is local', async () => {
    fake.nextJob({ polls: 0 });
    const e = await failure(provider({}, { allowLoopbackResults: false }).generate(input()), 'upstream_error');
    assert.equal(e.retryable, false);
    assert.equal(fake.of('cdn').length, 0);
  });

  it('replicateConfig reads EASEL_REPLICATE_* and defaults to api.replicate.com', () => {
    const saved = { ...process.env };
    try {
      for (const k of Object.keys(process.env)) if (k.startsWith('EASEL_REPLICATE_')) delete process.env[k];
      const c = replicateConfig();
      assert.equal(c.baseUrl, REPLICATE_DEFAULT_BASE_URL);
      assert.equal(c.apiKey, null);
      assert.equal(c.apiKeyVar, 'EASEL_REPLICATE_API_KEY');
      process.env.EASEL_REPLICATE_API_KEY = 'r8_x';
      process.env.EASEL_REPLICATE_MAX_RETRIES = '4';
      assert.equal(replicateConfig().apiKey, 'r8_x');
      assert.equal(replicateConfig().maxRetries, 4);
    } finally {
      process.env = saved;
    }
  });

  it('progress: starting → loading, processing → sampling steps climbing from the tqdm logs; params as sent', async () => {
    fake.nextJob({ polls: 6 });
    const events: ProviderProgress[] = [];
    const p = provider({}, { input: { num_inference_steps: 20, guidance: 3 } });
    assert.equal(p.adapterVersion, 'replicate/2');
    const out = await p.generate(input('a red fox in the snow', { onProgress: (e) => void events.push(e) }));
    const stages = events.map((e) => e.stage);
    assert.deepEqual(stages, ['loading', 'loading', 'loading', 'sampling', 'sampling', 'sampling', 'sampling']);
    const sampling = events.filter((e) => e.stage === 'sampling');
    assert.deepEqual(sampling.map((e) => [e.step, e.steps]), [[5, 20], [10, 20], [15, 20], [20, 20]]);
    const fractions = sampling.map((e) => e.fraction!);
    assert.ok(fractions.every((f, i) => i === 0 || f > fractions[i - 1]!), `fractions rise: ${fractions.join(',')}`);
    assert.ok(events.every((e) => e.preview === undefined));
    // Official model: Replicate shows no version ("hidden"), so none is claimed.
    assert.deepEqual(out.params, { vendor_model: 'black-forest-labs/flux-1.1-pro', seed: 11, steps: 20, guidance: 3 });
  });

  it('while progress is watched the sync wait is short, so a slow prediction is polled', async () => {
    fake.nextJob({ polls: 1 });
    await provider({ timeoutMs: 120_000 }).generate(input('x', { onProgress: () => {} }));
    assert.equal(fake.of('submit')[0]!.headers.prefer, 'wait=5');
    fake.reset();
    fake.nextJob({ polls: 1 });
    await provider({ timeoutMs: 120_000 }).generate(input('x'));
    assert.equal(fake.of('submit')[0]!.headers.prefer, 'wait=60', 'unwatched: the full sync wait as before');
  });

  it('params of a versioned model: its version, and the seed the model logged over the one sent', async () => {
    fake.reportedSeed = 987654;
    fake.nextJob({ polls: 2 });
    const out = await provider({}, {}, `black-forest-labs/flux-schnell:${SCHNELL_VERSION}`).generate(input('a teapot'));
    assert.equal((jsonBody(fake.of('submit')[0]!).input as { seed: number }).seed, 11);
    assert.deepEqual(out.params, { vendor_model: 'black-forest-labs/flux-schnell', vendor_version: SCHNELL_VERSION, seed: 987654 });
  });

  it('no progress after a caller abort, and the prediction is canceled', async () => {
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
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(events.length, 2, 'nothing reported after the abort');
    assert.equal(fake.of('cancel').length, 1);
  });

  it('every connection went to 127.0.0.1', () => {
    assert.ok(connects.length > 0);
    assert.ok(connects.every((h) => h === '127.0.0.1'), connects.join(','));
  });
});
