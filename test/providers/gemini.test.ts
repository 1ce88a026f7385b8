import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import { GeminiProvider, geminiAspectRatio, geminiConfig, geminiImageSize, type GeminiOptions } from '../../src/providers/gemini/gemini-provider.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import { GeminiFake } from '../fakes/gemini-fake.js';
import { colourOf, sha256, solidPng } from '../fakes/openai-fake.js';

const KEY = 'AIzaSyTESTKEY-0123456789-SECRET';
const MODEL = 'gemini-2.5-flash-image';

let fake: GeminiFake;
beforeEach(async () => {
  fake = await GeminiFake.start({ apiKey: KEY, strictHistory: true });
});
afterEach(async () => {
  await fake.close();
});

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'Gemini', apiKey: KEY, apiKeyVar: 'EASEL_GEMINI_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 5000, maxConcurrency: 4, maxRetries: 2, ...over };
}

function provider(over: Partial<VendorConfig> = {}, options: GeminiOptions = {}, model = MODEL): GeminiProvider {
  return new GeminiProvider(`gemini-${model}`, model, cfg(over), { retryBaseMs: 10, ...options });
}

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt: 'a lighthouse on a cliff at dusk', width: 1024, height: 1024, seed: 7, references: [], signal: new AbortController().signal, ...over };
}

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

describe('Gemini adapter: request shape', () => {
  it('maps width/height to the nearest documented aspect ratio and image size', () => {
    assert.equal(geminiAspectRatio(1024, 1024), '1:1');
    assert.equal(geminiAspectRatio(1920, 1080), '16:9');
    assert.equal(geminiAspectRatio(1080, 1920), '9:16');
    assert.equal(geminiAspectRatio(2048, 878), '21:9');
    assert.equal(geminiAspectRatio(1200, 900), '4:3');
    assert.equal(geminiAspectRatio(1000, 1250), '4:5');
    assert.equal(geminiImageSize(1024, 768), '1K');
    assert.equal(geminiImageSize(2048, 1152), '2K');
    assert.equal(geminiImageSize(4096, 2304), '4K');
  });

  it('capabilities: generate, edit, combine and multi-turn, concurrency from config', () => {
    assert.deepEqual(provider({ maxConcurrency: 5 }).capabilities, { operations: ['generate', 'edit', 'combine'], multiturn: true, maxConcurrency: 5 });
  });
});

describe('Gemini adapter: generate', () => {
  it('POSTs generateContent with the key in x-goog-api-key and returns the decoded image', async () => {
    const out = await provider().generate(input({ width: 1920, height: 1080 }));
    const meta = await sharp(out.bytes).metadata();
    assert.equal(out.mime, 'image/png');
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1344, 768]);
    assert.deepEqual(await rgbOf(out.bytes), colourOf('a lighthouse on a cliff at dusk'));

    assert.equal(fake.requests.length, 1);
    const req = fake.requests[0]!;
    assert.equal(req.invalid, undefined);
    assert.equal(req.path, `/v1beta/models/${MODEL}:generateContent`);
    assert.equal(req.headers['x-goog-api-key'], KEY);
    assert.equal(req.keyInUrl, false);
    assert.deepEqual(req.json!.generationConfig, { responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '16:9' } });
    assert.deepEqual(req.contents, [{ role: 'user', texts: ['a lighthouse on a cliff at dusk'], images: [] }]);
  });

  it('sends imageSize only when the model takes it', async () => {
    await provider({}, { imageSize: true }, 'gemini-3-pro-image-preview').generate(input({ width: 2048, height: 2048 }));
    assert.deepEqual(fake.requests[0]!.json!.generationConfig, { responseModalities: ['TEXT', 'IMAGE'], imageConfig: { aspectRatio: '1:1', imageSize: '2K' } });
  });

  it('sends references and figure references as inlineData after the text, numbered in it', async () => {
    const harbour = await solidPng(40, 30, [0, 0, 200]);
    const mira = await sharp(await solidPng(50, 50, [220, 20, 20])).jpeg().toBuffer();
    await provider().generate(
      input({
        references: [{ bytes: harbour, description: 'the harbour' }],
        figures: [
          { key: 'mira', appearance: 'a girl in a red coat', reference: { bytes: mira } },
          { key: 'ben', appearance: 'an old fisherman' },
        ],
      }),
    );
    const [turn] = fake.requests[0]!.contents!;
    assert.equal(turn!.texts.length, 1);
    assert.match(turn!.texts[0]!, /- mira: a girl in a red coat \(reference: image 2\)/);
    assert.match(turn!.texts[0]!, /- ben: an old fisherman$/m);
    assert.match(turn!.texts[0]!, /Reference images: image 1 \(the harbour\)/);
    assert.deepEqual(turn!.images.map((i) => [i.mimeType, i.width, i.height]), [['image/png', 40, 30], ['image/jpeg', 50, 50]]);
    assert.equal(turn!.images[0]!.sha256, sha256(harbour), 'PNG sent byte for byte');
  });

  it('skips thought (draft) images and returns the final one', async () => {
    fake.script({ kind: 'thought-images' });
    const out = await provider().generate(input({ prompt: 'final please' }));
    assert.deepEqual(await rgbOf(out.bytes), colourOf('final please'));
  });
});

describe('Gemini adapter: edit, combine and multi-turn', () => {
  it('edit sends the instruction and the image as inlineData', async () => {
    const src = await solidPng(64, 48, [10, 120, 30]);
    const out = await provider().edit({ ...input({ prompt: 'make it snow', width: 1024, height: 768 }), image: { bytes: src } });
    assert.deepEqual(await rgbOf(out.bytes), colourOf('make it snow'));
    const req = fake.requests[0]!;
    assert.equal(req.invalid, undefined);
    assert.deepEqual((req.json!.generationConfig as { imageConfig: unknown }).imageConfig, { aspectRatio: '4:3' });
    const [turn] = req.contents!;
    assert.deepEqual(turn!.texts, ['make it snow']);
    assert.deepEqual(turn!.images.map((i) => [i.width, i.height, i.rgb]), [[64, 48, [10, 120, 30]]]);
    assert.equal(turn!.images[0]!.sha256, sha256(src));
  });

  it('combine sends every image, in order, after the text', async () => {
    const colours: [number, number, number][] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]];
    const images = await Promise.all(colours.map(async (c) => ({ bytes: await solidPng(16, 16, c) })));
    await provider().combine({ ...input({ prompt: 'a 2x2 grid of these' }), images });
    const [turn] = fake.requests[0]!.contents!;
    assert.deepEqual(turn!.texts, ['a 2x2 grid of these']);
    assert.deepEqual(turn!.images.map((i) => i.rgb), colours);
  });

  it('a 3-turn story: turn 3 carries turns 1–2 prompts and images, in order', async () => {
    const p = provider();
    const prompts = ['Mira finds a key on the beach', 'Mira opens the lighthouse door with it', 'Inside, Mira climbs the spiral stairs'];
    const history: { prompt: string; image: { bytes: Buffer } }[] = [];
    const outputs: Buffer[] = [];
    for (const prompt of prompts) {
      const out = await p.generate(input({ prompt, history: [...history] }));
      outputs.push(out.bytes);
      history.push({ prompt, image: { bytes: out.bytes } });
    }
    assert.equal(fake.requests.length, 3);
    for (const r of fake.requests) assert.equal(r.invalid, undefined, r.invalid);
    // Each turn's image is the fake's answer to that turn's prompt.
    assert.deepEqual(await Promise.all(outputs.map(rgbOf)), prompts.map(colourOf));

    const turn3 = fake.requests[2]!.contents!;
    assert.deepEqual(
      turn3.map((c) => [c.role, c.texts, c.images.map((i) => i.sha256)]),
      [
        ['user', [prompts[0]], []],
        ['model', [], [sha256(outputs[0]!)]],
        ['user', [prompts[1]], []],
        ['model', [], [sha256(outputs[1]!)]],
        ['user', [prompts[2]], []],
      ],
    );
    assert.equal(fake.requests[1]!.contents!.length, 3);
  });

  it('the strict fake rejects a history whose image does not belong to its prompt (the check is real)', async () => {
    const a = await provider().generate(input({ prompt: 'first' }));
    const e = await failure(provider().generate(input({ prompt: 'second', history: [{ prompt: 'something else', image: { bytes: a.bytes } }] })));
    assert.equal(e.code, 'upstream_error');
    assert.match(fake.requests[1]!.invalid ?? '', /different prompt/);
  });

  it('trims the oldest history turns beyond maxHistoryTurns', async () => {
    const p = provider({}, { maxHistoryTurns: 2 });
    const history: { prompt: string; image: { bytes: Buffer } }[] = [];
    for (const prompt of ['one', 'two', 'three', 'four']) {
      const out = await p.generate(input({ prompt, history: [...history] }));
      history.push({ prompt, image: { bytes: out.bytes } });
    }
    const last = fake.requests[3]!.contents!;
    assert.deepEqual(last.filter((c) => c.role === 'user').map((c) => c.texts[0]), ['two', 'three', 'four']);
  });
});

describe('Gemini adapter: failures', () => {
  it('429 then success: retried, and the retry waited at least Retry-After', async () => {
    fake.failNext(1, 429, '1');
    await provider().generate(input());
    assert.deepEqual(fake.requests.map((r) => r.answer), [429, 200]);
    const gap = fake.requests[1]!.at - fake.requests[0]!.at;
    assert.ok(gap >= 1000 - 5, `second request came ${gap.toFixed(0)} ms after the 429 with Retry-After: 1`);
  });

  it('persistent 503 → retryable upstream_error after maxRetries + 1 calls', async () => {
    fake.always({ kind: 'status', status: 503 });
    const e = await failure(provider({ maxRetries: 3 }).generate(input()));
    assert.equal(e.code, 'upstream_error');
    assert.equal(e.retryable, true);
    assert.equal(fake.requests.length, 4);
  });

  it('a vendor that hangs past the timeout → retryable timeout', async () => {
    fake.always({ kind: 'hang' });
    const e = await failure(provider({ timeoutMs: 150, maxRetries: 1 }).generate(input()));
    assert.equal(e.code, 'timeout');
    assert.equal(e.retryable, true);
    assert.equal(fake.requests.length, 2);
  });

  it('a wrong key (Gemini answers 400 API_KEY_INVALID) → provider_unavailable, not retried, key nowhere', async () => {
    const wrong = `${KEY}-old`;
    const e = await failure(new GeminiProvider('g', MODEL, { ...cfg(), apiKey: wrong }, { retryBaseMs: 10 }).generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.equal(e.retryable, false);
    assert.match(e.message, /API_KEY_INVALID/);
    assert.match(e.message, /EASEL_GEMINI_API_KEY/);
    assert.ok(!everything(e).includes(wrong));
    assert.equal(fake.requests.length, 1);
  });

  for (const status of [401, 403]) {
    it(`${status} → provider_unavailable`, async () => {
      fake.script({ kind: 'status', status });
      const e = await failure(provider().generate(input()));
      assert.equal(e.code, 'provider_unavailable');
      assert.equal(fake.requests.length, 1);
    });
  }

  it('promptFeedback.blockReason → content_rejected, blocked: input', async () => {
    fake.script({ kind: 'safety', stage: 'input' });
    const e = await failure(provider().generate(input()));
    assert.equal(e.code, 'content_rejected');
    assert.equal(e.retryable, false);
    assert.deepEqual(e.details, { blocked: 'input' });
    assert.match(e.message, /PROHIBITED_CONTENT/);
  });

  for (const reason of ['IMAGE_SAFETY', 'SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'IMAGE_PROHIBITED_CONTENT']) {
    it(`finishReason ${reason} → content_rejected, blocked: output`, async () => {
      fake.script({ kind: 'safety', stage: 'output', reason });
      const e = await failure(provider().generate(input()));
      assert.equal(e.code, 'content_rejected');
      assert.deepEqual(e.details, { blocked: 'output' });
      assert.equal(fake.requests.length, 1);
    });
  }

  const malformedCases: [string, Parameters<GeminiFake['script']>[0]][] = [
    ['malformed JSON', { kind: 'malformed-json' }],
    ['inlineData that is not an image', { kind: 'not-image' }],
    ['text only (finishReason STOP)', { kind: 'no-image' }],
    ['finishReason NO_IMAGE', { kind: 'no-image', finishReason: 'NO_IMAGE' }],
  ];
  for (const [name, step] of malformedCases) {
    it(`a 200 with ${name} → non-retryable upstream_error, no crash`, async () => {
      fake.script(step);
      const e = await failure(provider().generate(input()));
      assert.equal(e.code, 'upstream_error');
      assert.equal(e.retryable, false);
      assert.equal(fake.requests.length, 1);
    });
  }

  it('not configured (no key) → provider_unavailable naming the env var, and no request is sent', async () => {
    const e = await failure(provider({ apiKey: null }).generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.match(e.message, /EASEL_GEMINI_API_KEY/);
    assert.equal(fake.requests.length, 0);
  });
});

describe('Gemini adapter: circuit breaker, concurrency, configuration', () => {
  it('opens after repeated failures; while open the fake receives nothing; a trial call closes it again', async () => {
    fake.always({ kind: 'status', status: 500 });
    const breaker = new CircuitBreaker('Gemini', 4, 300);
    const p = provider({ maxRetries: 1 }, { breaker });
    // Two calls x two attempts = four consecutive failures → open.
    for (let i = 0; i < 2; i++) assert.equal((await failure(p.generate(input()))).code, 'upstream_error');
    assert.equal(breaker.state, 'open');
    assert.equal(fake.requests.length, 4);
    const e = await failure(p.generate(input()));
    assert.equal(e.code, 'provider_unavailable');
    assert.equal(e.retryable, true);
    assert.ok((e.retryAfterMs ?? 0) > 0);
    assert.equal(fake.requests.length, 4, 'no calls reach the vendor while the circuit is open');

    await new Promise((r) => setTimeout(r, 350));
    fake.always(null);
    await p.generate(input());
    assert.equal(fake.requests.length, 5);
    assert.equal(breaker.state, 'closed');
  });

  it('never has more than maxConcurrency calls in flight at the vendor', async () => {
    fake.always({ kind: 'delay', ms: 80 });
    const p = provider({ maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 7 }, (_, i) => p.generate(input({ prompt: `scene ${i}` }))));
    assert.equal(fake.requests.length, 7);
    assert.equal(fake.maxInFlight, 3);
  });

  it('reads EASEL_GEMINI_* from the environment', async () => {
    const vars: Record<string, string | undefined> = {
      EASEL_GEMINI_API_KEY: KEY,
      EASEL_GEMINI_BASE_URL: fake.baseUrl,
      EASEL_GEMINI_TIMEOUT_MS: '3000',
      EASEL_GEMINI_MAX_CONCURRENCY: '2',
      EASEL_GEMINI_MAX_RETRIES: '0',
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
      const c = geminiConfig();
      assert.deepEqual(
        { ...c, apiKey: c.apiKey === KEY },
        { vendor: 'Gemini', apiKey: true, apiKeyVar: 'EASEL_GEMINI_API_KEY', baseUrl: fake.baseUrl, timeoutMs: 3000, maxConcurrency: 2, maxRetries: 0 },
      );
      const p = new GeminiProvider('g', MODEL);
      assert.equal(p.capabilities.maxConcurrency, 2);
      fake.script({ kind: 'status', status: 503 });
      assert.equal((await failure(p.generate(input()))).code, 'upstream_error');
      assert.equal(fake.requests.length, 1, 'MAX_RETRIES=0: a single attempt');
    } finally {
      apply(saved);
    }
  });
});

describe('Gemini adapter: progress and params', () => {
  it('reports the sampling stage once, when the request goes out, and the model as params', async () => {
    const events: { p: ProviderProgress; requestsSoFar: number }[] = [];
    const p = provider();
    assert.equal(p.adapterVersion, 'gemini/2');
    const out = await p.generate(input({ onProgress: (e) => void events.push({ p: e, requestsSoFar: fake.requests.length }) }));
    assert.deepEqual(events, [{ p: { stage: 'sampling' }, requestsSoFar: 0 }]);
    assert.deepEqual(out.params, { vendor_model: MODEL });
  });

  it('a modelVersion other than the model asked for is recorded as the vendor version', async () => {
    fake.modelVersions[MODEL] = 'gemini-2.5-flash-image-20251001';
    const out = await provider().generate(input());
    assert.deepEqual(out.params, { vendor_model: MODEL, vendor_version: 'gemini-2.5-flash-image-20251001' });
  });

  it('nothing is reported for a call that was aborted before it went out', async () => {
    const ac = new AbortController();
    ac.abort();
    const events: ProviderProgress[] = [];
    await assert.rejects(provider().generate(input({ signal: ac.signal, onProgress: (e) => void events.push(e) })));
    assert.deepEqual(events, []);
  });
});
