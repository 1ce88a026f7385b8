import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import { OpenAIProvider, openaiConfig, openaiSize, parseOpenAIModel } from '../../src/providers/openai/openai-provider.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import { OpenAIFake, colourOf, sha256, solidPng } from '../fakes/openai-fake.js';

const KEY = 'sk-proj-TESTKEY-0123456789abcdefSECRET';

let fake: OpenAIFake;
beforeEach(async () => {
  fake = await OpenAIFake.start({ apiKey: KEY });
});
afterEach(async () => {
  await fake.close();
});

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'OpenAI', apiKey: KEY, apiKeyVar: 'EASEL_OPENAI_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 5000, maxConcurrency: 4, maxRetries: 2, ...over };
}

function provider(model = 'gpt-image-1', over: Partial<VendorConfig> = {}, breaker?: CircuitBreaker): OpenAIProvider {
  return new OpenAIProvider(`openai-${model}`, model, cfg(over), { retryBaseMs: 10, breaker });
}

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt: 'a lighthouse on a cliff at dusk', width: 1024, height: 1024, seed: 7, references: [], signal: new AbortController().signal, ...over };
}

/** Everything an error carries, as text: message, stack, own fields (vendorBody, details). */
function everything(e: unknown): string {
  const err = e as Error;
  return [err.message, err.stack, JSON.stringify(err), String((err as { vendorBody?: unknown }).vendorBody ?? '')].join('\n');
}

async function failure(p: Promise<unknown>): Promise<JobFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JobFailure, `expected a JobFailure, got ${String(e)}`);
    assert.ok(!everything(e).includes(KEY), 'the API key leaked into the error');
    return e;
  }
  assert.fail('expected the call to fail');
}

async function rgbOf(bytes: Buffer): Promise<[number, number, number]> {
  const s = await sharp(bytes).stats();
  return [Math.round(s.channels[0]!.mean), Math.round(s.channels[1]!.mean), Math.round(s.channels[2]!.mean)];
}

describe('OpenAI adapter: sizes and capabilities', () => {
  it('maps width/height to the nearest supported size per model', () => {
    assert.equal(openaiSize('gpt-image-1', 1024, 1024), '1024x1024');
    assert.equal(openaiSize('gpt-image-1', 1920, 1080), '1536x1024');
    assert.equal(openaiSize('gpt-image-1', 768, 1344), '1024x1536');
    assert.equal(openaiSize('gpt-image-1', 1100, 1000), '1024x1024');
    assert.equal(openaiSize('dall-e-3', 1920, 1080), '1792x1024');
    assert.equal(openaiSize('dall-e-3', 600, 1000), '1024x1792');
    assert.equal(openaiSize('dall-e-2', 300, 200), '512x512');
    assert.equal(openaiSize('dall-e-2', 4000, 3000), '1024x1024');
  });

  it('GPT image models generate, edit and combine; dall-e models only generate; none is multi-turn', () => {
    const gpt = provider('gpt-image-1', { maxConcurrency: 3 });
    assert.deepEqual(gpt.capabilities, { operations: ['generate', 'edit', 'combine'], multiturn: false, maxConcurrency: 3 });
    assert.equal(typeof gpt.edit, 'function');
    assert.equal(typeof gpt.combine, 'function');
    const d3 = provider('dall-e-3');
    assert.deepEqual(d3.capabilities.operations, ['generate']);
    assert.equal(d3.edit, undefined);
    assert.equal(d3.combine, undefined);
  });
});

describe('OpenAI adapter: generate', () => {
  it('POSTs the documented JSON and returns the decoded image (gpt-image-1: b64_json by default)', async () => {
    const out = await provider().generate(input({ width: 1920, height: 1080 }));
    const meta = await sharp(out.bytes).metadata();
    assert.equal(out.mime, 'image/png');
    assert.equal(meta.format, 'png');
    assert.deepEqual([meta.width, meta.height], [1536, 1024]);
    assert.deepEqual(await rgbOf(out.bytes), colourOf('a lighthouse on a cliff at dusk'));

    const [req] = fake.api();
    assert.equal(fake.api().length, 1);
    assert.equal(req!.path, '/v1/images/generations');
    assert.equal(req!.headers.authorization, `Bearer ${KEY}`);
    assert.equal(req!.invalid, undefined);
    assert.deepEqual(req!.json, { model: 'gpt-image-1', prompt: 'a lighthouse on a cliff at dusk', n: 1, size: '1536x1024', stream: true, partial_images: 2 });
  });

  it('asks dall-e models for b64_json', async () => {
    const out = await provider('dall-e-3').generate(input({ width: 1024, height: 1792 }));
    assert.deepEqual([(await sharp(out.bytes).metadata()).height], [1792]);
    assert.equal(fake.api()[0]!.json!.response_format, 'b64_json');
    assert.equal(fake.api()[0]!.json!.size, '1024x1792');
  });

  it('describes figures in the prompt text', async () => {
    await provider().generate(input({ figures: [{ key: 'mira', appearance: 'a girl in a red coat' }] }));
    const prompt = String(fake.api()[0]!.json!.prompt);
    assert.match(prompt, /^a lighthouse on a cliff at dusk/);
    assert.match(prompt, /- mira: a girl in a red coat/);
  });

  it('fetches data[0].url from the CDN without our key when the vendor answers a URL', async () => {
    fake.script({ kind: 'url' });
    const p = new OpenAIProvider('o', 'gpt-image-1 partial_images=0', cfg(), { retryBaseMs: 10 });
    const out = await p.generate(input());
    assert.equal(fake.api()[0]!.json!.stream, undefined, 'partial_images=0: no streaming');
    assert.deepEqual(await rgbOf(out.bytes), colourOf('a lighthouse on a cliff at dusk'));
    const cdn = fake.requests.filter((r) => r.kind === 'cdn');
    assert.equal(cdn.length, 1);
    assert.equal(cdn[0]!.answer, 200);
    assert.equal(cdn[0]!.headers.authorization, undefined);
  });

  it('with reference images (GPT image), generates through /edits with the references as image[]', async () => {
    const ref1 = await solidPng(64, 64, [200, 10, 10]);
    const ref2 = await solidPng(48, 48, [10, 200, 10]);
    await provider().generate(
      input({ references: [{ bytes: ref1, description: 'the harbour' }], figures: [{ key: 'mira', appearance: 'a girl in a red coat', reference: { bytes: ref2 } }] }),
    );
    const [req] = fake.api();
    assert.equal(req!.path, '/v1/images/edits');
    assert.equal(req!.invalid, undefined);
    assert.deepEqual(req!.files!.map((f) => [f.field, f.rgb, f.width]), [
      ['image[]', [200, 10, 10], 64],
      ['image[]', [10, 200, 10], 48],
    ]);
    assert.match(req!.fields!.prompt!, /- mira: a girl in a red coat \(reference: image 2\)/);
    assert.match(req!.fields!.prompt!, /Reference images: image 1 \(the harbour\)/);
  });
});

describe('OpenAI adapter: edit and combine', () => {
  it('edit sends the image as a multipart `image` file part with prompt, model and size', async () => {
    const src = await solidPng(100, 80, [12, 34, 56]);
    const out = await provider().edit!({ ...input({ prompt: 'make it night', width: 1024, height: 1536 }), image: { bytes: src } });
    assert.deepEqual(await rgbOf(out.bytes), colourOf('make it night'));
    const [req] = fake.api();
    assert.equal(req!.path, '/v1/images/edits');
    assert.equal(req!.invalid, undefined);
    assert.match(String(req!.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.deepEqual(req!.fields, { model: 'gpt-image-1', prompt: 'make it night', n: '1', size: '1024x1536', stream: 'true', partial_images: '2' });
    assert.equal(req!.files!.length, 1);
    const f = req!.files![0]!;
    assert.deepEqual([f.field, f.contentType, f.format, f.width, f.height, f.rgb], ['image', 'image/png', 'png', 100, 80, [12, 34, 56]]);
    assert.ok(f.bytes.equals(src), 'the PNG is sent byte for byte');
  });

  it('edit re-encodes an input format OpenAI does not take (GIF) to PNG', async () => {
    const gif = await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 255, g: 0, b: 0 } } }).gif().toBuffer();
    await provider().edit!({ ...input({ prompt: 'x' }), image: { bytes: gif } });
    const f = fake.api()[0]!.files![0]!;
    assert.deepEqual([f.contentType, f.format, f.width], ['image/png', 'png', 20]);
  });

  it('combine sends every image as repeated image[] parts, in order', async () => {
    const colours: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
    const images = await Promise.all(colours.map(async (c) => ({ bytes: await solidPng(32, 32, c) })));
    const jpeg = await sharp(images[2]!.bytes).jpeg().toBuffer();
    images[2] = { bytes: jpeg };
    const out = await provider().combine!({ ...input({ prompt: 'the three side by side' }), images });
    assert.equal((await sharp(out.bytes).metadata()).format, 'png');
    const files = fake.api()[0]!.files!;
    assert.deepEqual(files.map((f) => f.field), ['image[]', 'image[]', 'image[]']);
    assert.deepEqual(files.map((f) => f.contentType), ['image/png', 'image/png', 'image/jpeg']);
    assert.deepEqual(files.slice(0, 2).map((f) => f.rgb), colours.slice(0, 2));
    assert.ok(files[2]!.rgb[2] > 240 && files[2]!.rgb[0] < 15, 'third image is the blue JPEG');
  });
});

describe('OpenAI adapter: failures', () => {
  it('429 then success: retried, and the retry waited at least Retry-After', async () => {
    fake.failNext(1, 429, '1');
    const out = await provider().generate(input());
    assert.ok(out.bytes.length > 0);
    const reqs = fake.api();
    assert.deepEqual(reqs.map((r) => r.answer), [429, 200]);
    const gap = reqs[1]!.at - reqs[0]!.at;
    assert.ok(gap >= 1000 - 5, `second request came ${gap.toFixed(0)} ms after the 429 with Retry-After: 1`);
  });

  it('persistent 503 → retryable upstream_error after maxRetries + 1 calls', async () => {
    fake.always({ kind: 'status', status: 503 });
    const e = await failure(provider('gpt-image-1', { maxRetries: 2 }).generate(input()));
    assert.equal(e.code, 'upstream_error');
    assert.equal(e.retryable, true);
    assert.equal(fake.api().length, 3);
  });

  it('500 is retried too', async () => {
    fake.failNext(2, 500);
    await provider().generate(input());
    assert.deepEqual(fake.api().map((r) => r.answer), [500, 500, 200]);
  });

  it('a vendor that hangs past the timeout → retryable timeout, each attempt bounded', async () => {
    fake.always({ kind: 'hang' });
    const t0 = performance.now();
    const e = await failure(provider('gpt-image-1', { timeoutMs: 150, maxRetries: 1 }).generate(input()));
    assert.equal(e.code, 'timeout');
    assert.equal(e.retryable, true);
    assert.equal(fake.api().length, 2);
    assert.ok(performance.now() - t0 < 3000);
  });

  it('a caller abort ends the call as a retryable timeout', async () => {
    fake.always({ kind: 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await failure(provider().generate(input({ signal: ac.signal })));
    assert.equal(e.code, 'timeout');
    assert.equal(fake.api().length, 1);
  });

  it('401 (a wrong key) → provider_unavailable, not retried, and the key appears nowhere in the error', async () => {
    const p = new OpenAIProvider('o', 'gpt-image-1', { ...cfg(), apiKey: `${KEY}-revoked` }, { retryBaseMs: 10 });
    const e = await failure(p.generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.equal(e.retryable, false);
    assert.match(e.message, /EASEL_OPENAI_API_KEY|API key/);
    assert.ok(!everything(e).includes(`${KEY}-revoked`));
    assert.equal(fake.api().length, 1);
  });

  it('401 for the right key (revoked at the vendor, key echoed in the body) → provider_unavailable, key redacted', async () => {
    fake.script({ kind: 'unauthorized' });
    const e = await failure(provider().generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.match(String((e as unknown as { vendorBody: string }).vendorBody), /\[redacted\]/);
  });

  it('403 → provider_unavailable', async () => {
    fake.script({ kind: 'status', status: 403 });
    const e = await failure(provider().generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.equal(fake.api().length, 1);
  });

  for (const code of ['moderation_blocked', 'content_policy_violation'] as const) {
    it(`a 400 ${code} → content_rejected, blocked: input, not retried`, async () => {
      fake.script({ kind: 'safety', code });
      const e = await failure(provider().generate(input()));
      assert.equal(e.code, 'content_rejected');
      assert.equal(e.retryable, false);
      assert.deepEqual(e.details, { blocked: 'input' });
      assert.equal(fake.api().length, 1);
    });
  }

  it('a safety block on an edit is content_rejected too', async () => {
    fake.script({ kind: 'safety' });
    const e = await failure(provider().edit!({ ...input(), image: { bytes: await solidPng(8, 8, [1, 2, 3]) } }));
    assert.equal(e.code, 'content_rejected');
  });

  it('another 400 (our request rejected) → non-retryable upstream_error', async () => {
    fake.script({ kind: 'status', status: 400 });
    const e = await failure(provider().generate(input()));
    assert.equal(e.code, 'upstream_error');
    assert.equal(e.retryable, false);
  });

  for (const kind of ['malformed-json', 'not-image', 'no-image'] as const) {
    it(`a 200 with ${kind} → non-retryable upstream_error, no crash`, async () => {
      fake.script({ kind });
      const e = await failure(provider().generate(input()));
      assert.equal(e.code, 'upstream_error');
      assert.equal(e.retryable, false);
      assert.equal(fake.api().length, 1);
    });
  }

  it('not configured (no key) → provider_unavailable naming the env var, and no request is sent', async () => {
    const e = await failure(provider('gpt-image-1', { apiKey: null }).generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.match(e.message, /EASEL_OPENAI_API_KEY/);
    assert.equal(fake.requests.length, 0);
  });
});

describe('OpenAI adapter: circuit breaker and concurrency', () => {
  it('opens after repeated failures; while open the fake receives nothing; a trial call closes it again', async () => {
    fake.always({ kind: 'status', status: 503 });
    const breaker = new CircuitBreaker('OpenAI', 3, 300);
    const p = provider('gpt-image-1', { maxRetries: 0 }, breaker);
    for (let i = 0; i < 3; i++) assert.equal((await failure(p.generate(input()))).code, 'upstream_error');
    assert.equal(breaker.state, 'open');
    assert.equal(fake.api().length, 3);

    for (let i = 0; i < 3; i++) {
      const e = await failure(p.generate(input()));
      assert.equal(e.code, 'provider_unavailable');
      assert.equal(e.retryable, true);
    }
    assert.equal(fake.api().length, 3, 'no calls reach the vendor while the circuit is open');

    await new Promise((r) => setTimeout(r, 350));
    fake.always(null);
    await p.generate(input());
    assert.equal(fake.api().length, 4);
    assert.equal(breaker.state, 'closed');
  });

  it('never has more than maxConcurrency calls in flight at the vendor', async () => {
    fake.always({ kind: 'delay', ms: 80 });
    const p = provider('gpt-image-1', { maxConcurrency: 2 });
    await Promise.all(Array.from({ length: 6 }, (_, i) => p.generate(input({ prompt: `scene ${i}` }))));
    assert.equal(fake.api().length, 6);
    assert.equal(fake.maxInFlight, 2);
  });
});

describe('OpenAI adapter: configuration', () => {
  it('reads EASEL_OPENAI_* from the environment and the key from EASEL_SECRETS_FILE', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-openai-'));
    const secrets = path.join(dir, 'secrets.json');
    fs.writeFileSync(secrets, JSON.stringify({ EASEL_OPENAI_API_KEY: KEY }));
    const vars: Record<string, string | undefined> = {
      EASEL_OPENAI_API_KEY: undefined,
      EASEL_SECRETS_FILE: secrets,
      EASEL_OPENAI_BASE_URL: `${fake.baseUrl}/`,
      EASEL_OPENAI_TIMEOUT_MS: '4000',
      EASEL_OPENAI_MAX_CONCURRENCY: '3',
      EASEL_OPENAI_MAX_RETRIES: '1',
    };
    const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
    const apply = (v: Record<string, string | undefined>) => {
      for (const [k, val] of Object.entries(v)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    };
    try {
      apply(vars);
      const c = openaiConfig();
      assert.deepEqual(
        { ...c, apiKey: c.apiKey === KEY },
        { vendor: 'OpenAI', apiKey: true, apiKeyVar: 'EASEL_OPENAI_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 4000, maxConcurrency: 3, maxRetries: 1 },
      );
      const p = new OpenAIProvider('o', 'gpt-image-1');
      assert.equal(p.capabilities.maxConcurrency, 3);
      await p.generate(input());
      assert.equal(fake.api().length, 1);
    } finally {
      apply(saved);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('OpenAI adapter: streaming partial images (progress and previews)', () => {
  function collect() {
    const events: ProviderProgress[] = [];
    return { events, sink: (p: ProviderProgress) => void events.push(p) };
  }

  it('streams N partial frames as previews with a rising fraction, and returns the completed frame', async () => {
    const { events, sink } = collect();
    const p = provider('gpt-image-1 partial_images=3');
    assert.equal(p.adapterVersion, 'openai/2');
    const out = await p.generate(input({ onProgress: sink }));

    const req = fake.api()[0]!;
    assert.deepEqual([req.json!.stream, req.json!.partial_images, req.partialsSent, req.clientClosed], [true, 3, 3, undefined]);
    const previews = events.filter((e) => e.preview);
    assert.equal(previews.length, 3);
    for (const e of previews) {
      const meta = await sharp(e.preview!.bytes).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1024, 1024]);
    }
    const fractions = previews.map((e) => e.fraction!);
    assert.deepEqual(fractions, [0.25, 0.5, 0.75]);
    assert.ok(events.every((e) => e.stage === 'sampling'));
    // Coarse to fine: the first preview is further from the final colour than the last.
    const final = colourOf('a lighthouse on a cliff at dusk');
    const dist = async (b: Buffer) => (await rgbOf(b)).reduce((s, c, i) => s + Math.abs(c - final[i]!), 0);
    assert.ok((await dist(previews[0]!.preview!.bytes)) > (await dist(previews[2]!.preview!.bytes)));
    // The result is the completed frame: the very PNG the fake produced, not a partial.
    assert.equal(fake.produced.get(sha256(out.bytes)), 'a lighthouse on a cliff at dusk');
    assert.deepEqual(await rgbOf(out.bytes), final);
    assert.deepEqual(out.params, { vendor_model: 'gpt-image-1' });
  });

  it('edits stream too (image_edit.* events)', async () => {
    const { events, sink } = collect();
    const src = await solidPng(40, 40, [12, 34, 56]);
    const out = await provider().edit!({ ...input({ prompt: 'make it night', onProgress: sink }), image: { bytes: src } });
    assert.deepEqual(await rgbOf(out.bytes), colourOf('make it night'));
    assert.equal(fake.api()[0]!.partialsSent, 2);
    assert.deepEqual(events.filter((e) => e.preview).map((e) => e.fraction), [1 / 3, 2 / 3]);
  });

  it('dall-e models do not stream: one sampling stage, no preview, params still reported', async () => {
    const { events, sink } = collect();
    const out = await provider('dall-e-3').generate(input({ onProgress: sink }));
    assert.equal(fake.api()[0]!.json!.stream, undefined);
    assert.deepEqual(events, [{ stage: 'sampling' }]);
    assert.deepEqual(out.params, { vendor_model: 'dall-e-3' });
  });

  for (const [code, type, expected, retryable] of [
    ['moderation_blocked', 'image_generation_user_error', 'content_rejected', false],
    ['content_policy_violation', 'invalid_request_error', 'content_rejected', false],
    ['server_error', 'server_error', 'upstream_error', true],
    ['image_generation_failed', 'invalid_request_error', 'upstream_error', false],
  ] as const) {
    it(`an error event mid-stream (${code}) → ${expected}${retryable ? ', retryable' : ''}, after the partial it had sent`, async () => {
      fake.script({ kind: 'stream-error', code, type, after: 1 });
      const { events, sink } = collect();
      const e = await failure(provider('gpt-image-1', { maxRetries: 2 }).generate(input({ onProgress: sink })));
      assert.equal(e.code, expected);
      assert.equal(e.retryable, retryable);
      if (expected === 'content_rejected') assert.deepEqual(e.details, { blocked: 'input' });
      assert.equal(events.filter((x) => x.preview).length, 1);
      assert.equal(fake.api().length, 1, 'a stream that began is not retried by the adapter');
    });
  }

  it('a caller abort mid-stream closes the connection at the vendor, and no progress follows it', async () => {
    fake.streamLatencyMs = 3000;
    const ac = new AbortController();
    const events: ProviderProgress[] = [];
    let atAbort = -1;
    const sink = (p: ProviderProgress) => {
      events.push(p);
      if (p.preview && atAbort < 0) {
        atAbort = events.length;
        ac.abort();
      }
    };
    const e = await failure(provider('gpt-image-1 partial_images=3', { timeoutMs: 20_000 }).generate(input({ signal: ac.signal, onProgress: sink })));
    assert.equal(e.code, 'timeout');
    const req = fake.api()[0]!;
    for (let i = 0; i < 100 && !req.clientClosed; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(req.clientClosed, true, 'the fake saw the connection close before the stream ended');
    assert.ok(req.partialsSent! < 3, `the fake sent ${req.partialsSent} partials`);
    await new Promise((r) => setTimeout(r, 1200)); // past the next frame the fake would have sent
    assert.equal(events.length, atAbort, 'no progress after the abort');
  });

  it('partial frames that arrive together: none is reported once the job was aborted at the first', async () => {
    fake.burstPartials = true;
    fake.streamLatencyMs = 2000;
    const ac = new AbortController();
    const previews: number[] = [];
    const sink = (p: ProviderProgress) => {
      if (!p.preview) return;
      previews.push(p.fraction!);
      ac.abort();
    };
    await failure(provider('gpt-image-1 partial_images=3', { timeoutMs: 20_000 }).generate(input({ signal: ac.signal, onProgress: sink })));
    assert.equal(fake.api()[0]!.partialsSent, 3, 'the fake sent all three partials in one go');
    assert.deepEqual(previews, [0.25]);
  });

  it('a stream that stalls past the timeout → retryable timeout', async () => {
    fake.streamLatencyMs = 5000;
    const e = await failure(provider('gpt-image-1', { timeoutMs: 400, maxRetries: 0 }).generate(input()));
    assert.equal(e.code, 'timeout');
    assert.equal(e.retryable, true);
  });

  it('the vendor_model string: partial_images=0…3 for GPT image models only', () => {
    assert.equal(provider('gpt-image-1').partialImages, 2);
    assert.equal(provider('gpt-image-1 partial_images=1').partialImages, 1);
    assert.equal(provider('gpt-image-1 partial_images=1').model, 'gpt-image-1');
    assert.equal(provider('dall-e-2').partialImages, 0);
    assert.equal(parseOpenAIModel('gpt-image-1.5 partial_images=0').partialImages, 0);
    assert.throws(() => provider('dall-e-3 partial_images=2'), /only GPT image models/);
    assert.throws(() => provider('gpt-image-1 partial_images=4'), /partial_images=0…3/);
    assert.throws(() => provider('gpt-image-1 stream'), /partial_images=0…3/);
  });
});
