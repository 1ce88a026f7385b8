import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import { A1111Provider, a1111Config, type A1111Options } from '../../src/providers/a1111/a1111-provider.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { A1111Fake, checkpointTitle, fakeColour } from '../fakes/a1111-fake.js';

const CKPT = 'sd_xl_base_1.0.safetensors';
const USER = 'easel-operator';
const PASS = 'pa55:w0rd-Zq9!';

let fake: A1111Fake;
before(async () => {
  fake = await A1111Fake.start();
});
after(() => fake.close());
beforeEach(() => fake.reset());

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'AUTOMATIC1111', apiKey: null, apiKeyVar: 'EASEL_A1111_API_KEY', baseUrl: fake.url, timeoutMs: 5000, maxConcurrency: 1, maxRetries: 2, ...over };
}

function provider(over: Partial<VendorConfig> = {}, opts: A1111Options = {}, vendorModel = CKPT): A1111Provider {
  return new A1111Provider('a1111-test', vendorModel, cfg(over), { retryBaseMs: 5, breaker: new CircuitBreaker('AUTOMATIC1111', 100), ...opts });
}

function input(over: Partial<GenerateInput> = {}): GenerateInput {
  return { prompt: 'a lighthouse on a cliff at dusk', width: 512, height: 384, seed: 1234567, references: [], signal: new AbortController().signal, ...over };
}

async function failure(p: Promise<unknown>): Promise<JobFailure> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof JobFailure, `expected a JobFailure, got ${String((e as Error)?.stack ?? e)}`);
    return e;
  }
  assert.fail('expected the call to fail');
}

async function pixel(bytes: Buffer) {
  const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0]!, g: data[1]!, b: data[2]! };
}

function sentBody(route: 'txt2img' | 'img2img' = 'txt2img'): Record<string, unknown> {
  return fake.to(route).at(-1)!.json as Record<string, unknown>;
}

/** Every form the credentials could leak in. */
function assertNoCredentials(f: JobFailure): void {
  const token = Buffer.from(`${USER}:${PASS}`).toString('base64');
  const everything = [f.message, String(f.stack), JSON.stringify(f), JSON.stringify(f.details ?? {}), JSON.stringify(Object.getOwnPropertyDescriptors(f))].join('\n');
  for (const secret of [PASS, USER, token, `${USER}:${PASS}`]) assert.ok(!everything.includes(secret), `"${secret}" leaked: ${everything}`);
}

describe('AUTOMATIC1111: generate (txt2img)', () => {
  it('returns a decodable PNG of the requested size, with prompt, seed and checkpoint on the wire', async () => {
    const p = provider();
    assert.deepEqual(p.capabilities, { operations: ['generate', 'edit'], multiturn: false, maxConcurrency: 1, deterministic: true });
    assert.equal(p.adapterVersion, 'a1111/2');
    const out = await p.generate(input({ prompt: 'red fox in snow', seed: 42, width: 768, height: 1024 }));
    assert.equal(out.mime, 'image/png');
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [768, 1024]);
    assert.deepEqual(await pixel(out.bytes), fakeColour('red fox in snow', 42));

    assert.equal(fake.to('txt2img').length, 1);
    assert.deepEqual(sentBody(), {
      prompt: 'red fox in snow',
      negative_prompt: '',
      seed: 42,
      width: 768,
      height: 1024,
      steps: 20,
      cfg_scale: 7,
      batch_size: 1,
      n_iter: 1,
      override_settings: { sd_model_checkpoint: CKPT },
      // The checkpoint stays loaded after the call, so a pool can route the next call of that model to it (issue 19).
      override_settings_restore_afterwards: false,
    });
    assert.deepEqual(fake.rendered.at(-1), { route: 'txt2img', prompt: 'red fox in snow', seed: 42, width: 768, height: 1024, checkpoint: CKPT, denoisingStrength: null, initImage: null });
    assert.equal(fake.requests[0]!.headers.authorization, undefined);
    assert.equal(fake.requests[0]!.headers['content-type'], 'application/json');
  });

  it('sampler, steps, cfg and negative prompt options reach the body; no vendor model → no override', async () => {
    await provider({}, { samplerName: 'DPM++ 2M', steps: 30, cfgScale: 5.5, negativePrompt: 'blurry' }, '').generate(input());
    const b = sentBody();
    assert.equal(b.sampler_name, 'DPM++ 2M');
    assert.equal(b.steps, 30);
    assert.equal(b.cfg_scale, 5.5);
    assert.equal(b.negative_prompt, 'blurry');
    assert.equal('override_settings' in b, false);
  });

  it('gives different images for different prompts or seeds', async () => {
    const p = provider();
    const px = await Promise.all([input({ seed: 1 }), input({ seed: 2 }), input({ prompt: 'other', seed: 1 })].map(async (i) => pixel((await p.generate(i)).bytes)));
    assert.notDeepEqual(px[0], px[1]);
    assert.notDeepEqual(px[0], px[2]);
  });

  it('reads EASEL_A1111_* through vendorConfig', () => {
    const saved = { ...process.env };
    Object.assign(process.env, { EASEL_A1111_API_KEY: `${USER}:${PASS}`, EASEL_A1111_BASE_URL: 'http://gpu-box:7860/', EASEL_A1111_TIMEOUT_MS: '90000', EASEL_A1111_MAX_RETRIES: '4' });
    try {
      const c = a1111Config();
      assert.deepEqual({ ...c }, { vendor: 'AUTOMATIC1111', apiKey: `${USER}:${PASS}`, apiKeyVar: 'EASEL_A1111_API_KEY', baseUrl: 'http://gpu-box:7860', timeoutMs: 90000, maxConcurrency: 1, maxRetries: 4 });
    } finally {
      process.env = saved;
    }
  });
});

describe('AUTOMATIC1111: edit (img2img)', () => {
  it('sends the input as base64 init_images with denoising_strength 0.6; output is the requested size', async () => {
    const source = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
    const out = await provider().edit({ ...input({ prompt: 'make it autumn', seed: 77, width: 512, height: 512 }), image: { bytes: source } });
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [512, 512]);

    const b = sentBody('img2img');
    assert.equal(b.denoising_strength, 0.6);
    assert.equal(b.seed, 77);
    assert.equal(b.prompt, 'make it autumn');
    const init = b.init_images as string[];
    assert.equal(init.length, 1);
    const sent = Buffer.from(init[0]!, 'base64');
    const sentMeta = await sharp(sent).metadata();
    assert.deepEqual([sentMeta.format, sentMeta.width, sentMeta.height], ['png', 300, 200], 'the JPEG input went as a PNG');
    const r = fake.rendered.at(-1)!;
    assert.equal(r.route, 'img2img');
    assert.equal(r.initImage!.width, 300);
    assert.deepEqual(await pixel(out.bytes), fakeColour('make it autumn', 77, r.initImage!.sha256));
  });
});

describe('AUTOMATIC1111: basic auth (--api-auth)', () => {
  it('sends Authorization: Basic base64(user:pass) from EASEL_A1111_API_KEY', async () => {
    fake.reset({ credentials: { user: USER, pass: PASS } });
    await provider({ apiKey: `${USER}:${PASS}` }).generate(input());
    assert.equal(fake.requests[0]!.headers.authorization, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
  });

  it('missing or wrong credentials → provider_unavailable, credentials in no message', async () => {
    fake.reset({ credentials: { user: USER, pass: 'something-else' } });
    const wrong = await failure(provider({ apiKey: `${USER}:${PASS}` }).generate(input()));
    assert.equal(wrong.code, 'provider_unavailable');
    assert.equal(wrong.retryable, false);
    assert.match(wrong.message, /EASEL|API key|credentials/);
    assertNoCredentials(wrong);
    const none = await failure(provider().generate(input()));
    assert.equal(none.code, 'provider_unavailable');
  });

  it('a server echoing the credentials in a 422, 500 or 401 body never gets them into the failure', async () => {
    fake.reset({ credentials: { user: USER, pass: PASS } });
    for (const status of [422, 500, 401, 400]) {
      fake.failNext('txt2img', 5, { echoCredentials: status });
      const f = await failure(provider({ apiKey: `${USER}:${PASS}`, maxRetries: 1 }).generate(input()));
      assertNoCredentials(f);
      if (status === 422) assert.match(f.message, /\[redacted\]/, 'the echoed text was scrubbed, not dropped');
      fake.reset({ credentials: { user: USER, pass: PASS } });
    }
  });

  it('a key that is not user:pass is refused at construction without echoing it', () => {
    assert.throws(
      () => provider({ apiKey: 'just-a-token-value' }),
      (e: unknown) => e instanceof Error && /EASEL_A1111_API_KEY must have the form user:pass/.test(e.message) && !e.message.includes('just-a-token-value'),
    );
  });
});

describe('AUTOMATIC1111: failures', () => {
  it('5xx / 429 then success → retried, observed on the fake', async () => {
    fake.failNext('txt2img', 1, { status: 503 });
    fake.failNext('txt2img', 1, { status: 429, retryAfter: '0' });
    const out = await provider({ maxRetries: 2 }).generate(input());
    assert.equal((await sharp(out.bytes).metadata()).width, 512);
    assert.equal(fake.to('txt2img').length, 3);
    assert.deepEqual(fake.to('txt2img')[0]!.json, fake.to('txt2img')[2]!.json, 'the identical body is resent');
  });

  it('persistent 500 (e.g. out of memory) → retryable upstream_error after maxRetries + 1 attempts', async () => {
    fake.failNext('txt2img', 10, { status: 500 });
    const f = await failure(provider({ maxRetries: 2 }).generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, true);
    assert.match(f.message, /AUTOMATIC1111 failed \(500\)/);
    assert.equal(fake.to('txt2img').length, 3);
  });

  it('422 from FastAPI validation → non-retryable upstream_error naming the field, for the operator', async () => {
    // A real 422 from the fake: a float width fails pydantic's int check.
    const f = await failure(provider().generate(input({ width: 512.5 })));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, false);
    assert.match(f.message, /AUTOMATIC1111 rejected the request \(422\): body\.width: value is not a valid integer/);
    assert.match(f.message, /operator/);
    assert.deepEqual(f.details, { vendor_status: 422, fields: ['body.width'] });
    assert.equal(fake.to('txt2img').length, 1, 'not retried');
  });

  it('404 (webui started without --api) → non-retryable, tells the operator', async () => {
    const f = await failure(provider({ baseUrl: `${fake.url}/nothing-here` }).generate(input()));
    assert.equal(f.retryable, false);
    assert.match(f.message, /--api/);
  });

  it('malformed JSON → non-retryable upstream_error', async () => {
    fake.failNext('txt2img', 1, { malformed: true });
    const f = await failure(provider().generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, false);
    assert.match(f.message, /not JSON/);
    assert.equal(fake.to('txt2img').length, 1);
  });

  it('no images / not base64 / not an image → non-retryable upstream_error', async () => {
    const cases: [Parameters<A1111Fake['failNext']>[2], RegExp][] = [
      [{ noImages: true }, /with no image/],
      [{ notBase64: true }, /not base64/],
      [{ nonImage: true }, /unsupported format|does not decode/],
      [{ status: 200, body: '{"images": "x"}' }, /without an images list/],
      [{ status: 200, body: '["not", "an", "object"]' }, /a JSON answer that is not an object/],
    ];
    for (const [fault, re] of cases) {
      fake.failNext('txt2img', 1, fault);
      const f = await failure(provider().generate(input()));
      assert.equal(f.code, 'upstream_error');
      assert.equal(f.retryable, false);
      assert.match(f.message, re);
    }
  });

  it('a hanging server → retryable timeout at cfg.timeoutMs (not multiplied by retries)', async () => {
    fake.failNext('txt2img', 5, { hang: true });
    const started = Date.now();
    const f = await failure(provider({ timeoutMs: 250, maxRetries: 3 }).generate(input()));
    assert.equal(f.code, 'timeout');
    assert.equal(f.retryable, true);
    assert.match(f.message, /AUTOMATIC1111 did not deliver the image within/);
    assert.ok(Date.now() - started < 2000);
  });

  it('a long Retry-After does not stretch the call past the deadline', async () => {
    fake.failNext('txt2img', 1, { status: 503, retryAfter: '60' });
    const started = Date.now();
    const f = await failure(provider({ timeoutMs: 300, maxRetries: 2 }).generate(input()));
    assert.equal(f.code, 'timeout');
    assert.ok(Date.now() - started < 2000, 'ended at the deadline, not after the 60 s Retry-After');
    assert.equal(fake.to('txt2img').length, 1);
  });

  it('the job signal aborting ends the call with a retryable timeout', async () => {
    fake.failNext('txt2img', 1, { hang: true });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const f = await failure(provider().generate(input({ signal: ac.signal })));
    assert.equal(f.code, 'timeout');
    assert.match(f.message, /aborted/);
  });

  it('the circuit breaker opens and then stops calling the server', async () => {
    const breaker = new CircuitBreaker('AUTOMATIC1111', 2, 60_000);
    const p = provider({ maxRetries: 0 }, { breaker });
    fake.failNext('txt2img', 2, { status: 502 });
    for (let i = 0; i < 2; i++) assert.equal((await failure(p.generate(input()))).code, 'upstream_error');
    assert.equal(breaker.state, 'open');
    const before = fake.requests.length;
    const f = await failure(p.generate(input()));
    assert.equal(f.code, 'provider_unavailable');
    assert.equal(fake.requests.length, before);
  });
});

describe('AUTOMATIC1111: fake validation (the fake refuses what the webui refuses)', () => {
  async function post(route: string, body: string) {
    const res = await fetch(`${fake.url}/sdapi/v1/${route}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: res.status, json: (await res.json()) as { detail: unknown } };
  }
  it('types, required fields, unknown fields, init images', async () => {
    assert.equal((await post('txt2img', '{not json')).status, 422);
    const r = await post('txt2img', JSON.stringify({ prompt: 1, seed: '5', width: 512, height: 512, bogus: true }));
    assert.equal(r.status, 422);
    assert.deepEqual((r.json.detail as { loc: string[] }[]).map((d) => d.loc.join('.')).sort(), ['body.bogus', 'body.prompt', 'body.seed']);
    assert.equal((await post('img2img', JSON.stringify({ prompt: 'x', seed: 1, width: 512, height: 512 }))).status, 404);
    const bad = await post('img2img', JSON.stringify({ prompt: 'x', seed: 1, width: 512, height: 512, init_images: [Buffer.from('nope').toString('base64')] }));
    assert.equal(bad.status, 500);
    assert.equal((bad.json as unknown as { detail: string }).detail, 'Invalid encoded image');
  });
});

// ---------------------------------------------------------------------------------------------
// Live progress (issue 22): /sdapi/v1/progress polled while the request is in flight

function recorder() {
  const events: ProviderProgress[] = [];
  return { events, sink: (p: ProviderProgress) => void events.push(p) };
}

async function brightness(bytes: Buffer): Promise<number> {
  const { channels } = await sharp(bytes).stats();
  return channels.slice(0, 3).reduce((n, c) => n + c.mean, 0) / 3;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Steps reported climb (each new one higher than the last), and the fraction never goes back. */
function assertClimbing(events: ProviderProgress[]): number[] {
  const steps = events.map((e) => e.step!);
  for (let i = 1; i < steps.length; i++) assert.ok(steps[i]! >= steps[i - 1]!, `steps never go back: ${steps.join(',')}`);
  const fractions = events.map((e) => e.fraction!);
  for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i]! >= fractions[i - 1]!, `fraction monotone: ${fractions.join(',')}`);
  return [...new Set(steps)];
}

describe('AUTOMATIC1111: live progress', () => {
  it('reports sampling steps climbing to max with fraction to 1 and changing previews; params from `info`', async () => {
    fake.reset({ latencyMs: 1000 });
    const { events, sink } = recorder();
    const out = await provider({}, { progressIntervalMs: 25 }).generate(input({ onProgress: sink }));
    assert.equal((await sharp(out.bytes).metadata()).width, 512);

    assert.ok(events.length > 0, 'progress arrived');
    assert.ok(events.every((e) => e.stage === 'sampling' && e.steps === 20));
    const distinct = assertClimbing(events);
    assert.equal(distinct.at(-1), 20, `reached the last step: ${distinct.join(',')}`);
    assert.ok(distinct.length >= 5, `${distinct.length} distinct steps seen`);
    assert.ok(events.at(-1)!.fraction! >= 0.99 && events.at(-1)!.fraction! <= 1);

    const previews = events.filter((e) => e.preview).map((e) => e.preview!.bytes);
    assert.ok(previews.length >= 2, `${previews.length} previews`);
    for (const b of previews) assert.ok(((await sharp(b).metadata()).width ?? 0) > 0, 'a preview sharp decodes');
    assert.equal(new Set(previews.map((b) => b.toString('base64'))).size, previews.length, 'a preview only when the image changed');
    assert.ok((await brightness(previews.at(-1)!)) > (await brightness(previews[0]!)), 'later previews show later steps');

    // The sampler was not sent: `info` says which one the webui used; the model is its name and short hash.
    assert.deepEqual(out.params, { vendor_model: 'sd_xl_base_1.0', vendor_version: checkpointTitle(CKPT).slice(-11, -1), seed: 1234567, steps: 20, sampler: 'Euler', guidance: 7 });
  });

  it('params follow the options sent; without a readable `info` they are what was sent', async () => {
    const p = provider({}, { samplerName: 'DPM++ 2M', steps: 30, cfgScale: 5.5 });
    const a = await p.generate(input({ seed: 42 }));
    assert.deepEqual(a.params, { vendor_model: 'sd_xl_base_1.0', vendor_version: checkpointTitle(CKPT).slice(-11, -1), seed: 42, steps: 30, sampler: 'DPM++ 2M', guidance: 5.5 });
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#204060' } }).png().toBuffer();
    fake.failNext('txt2img', 1, { status: 200, body: JSON.stringify({ images: [png.toString('base64')], parameters: {}, info: '{not json' }) });
    const b = await provider().generate(input({ seed: 7 }));
    assert.deepEqual(b.params, { vendor_model: CKPT, seed: 7, steps: 20, guidance: 7 });
  });

  it('no listener, no polling', async () => {
    fake.reset({ latencyMs: 200 });
    await provider({}, { progressIntervalMs: 20 }).generate(input());
    assert.equal(fake.to('progress').length, 0);
  });

  it("an idle webui's leftover state (the last job's 20/20) is not reported as ours", async () => {
    await provider().generate(input({ seed: 1 })); // leaves sampling_step 20 of 20 in the shared state
    fake.reset({ latencyMs: 600 });
    fake.failNext('txt2img', 1, { status: 503 }); // idle while the adapter backs off and retries
    const { events, sink } = recorder();
    await provider({}, { progressIntervalMs: 20, retryBaseMs: 400 }).generate(input({ seed: 2, onProgress: sink }));
    const retried = fake.requests.indexOf(fake.to('txt2img')[1]!);
    assert.ok(fake.requests.slice(0, retried).some((r) => r.route === 'progress'), 'polled while the webui was idle');
    assert.ok(events.length > 0);
    assert.ok(events[0]!.step! < 20, `first report is of this job: step ${events[0]!.step}`);
    assertClimbing(events);
  });

  it('img2img reports progress too', async () => {
    fake.reset({ latencyMs: 500 });
    const { events, sink } = recorder();
    const source = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#aa3300' } }).png().toBuffer();
    const out = await provider({}, { progressIntervalMs: 20 }).edit({ ...input({ seed: 8, onProgress: sink }), image: { bytes: source } });
    assert.ok(events.length > 0);
    assertClimbing(events);
    assert.equal(out.params?.seed, 8);
  });

  it('progress polls carry the basic auth credentials', async () => {
    fake.reset({ credentials: { user: USER, pass: PASS }, latencyMs: 300 });
    const { events, sink } = recorder();
    await provider({ apiKey: `${USER}:${PASS}` }, { progressIntervalMs: 20 }).generate(input({ onProgress: sink }));
    assert.ok(fake.to('progress').length > 0);
    for (const r of fake.to('progress')) assert.equal(r.headers.authorization, `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`);
    assert.ok(events.length > 0, 'authorised polls were answered');
  });

  it('aborting mid-run stops the polling: no poll after the abort settled', async () => {
    fake.reset({ latencyMs: 3000 });
    const ac = new AbortController();
    const { events, sink } = recorder();
    const f = await failure(
      provider({}, { progressIntervalMs: 20 }).generate(
        input({
          signal: ac.signal,
          onProgress: (p) => {
            sink(p);
            if (p.step !== undefined && p.step >= 2) ac.abort();
          },
        }),
      ),
    );
    assert.equal(f.code, 'timeout');
    assert.match(f.message, /aborted/);
    assert.ok(events.length > 0);
    const polls = fake.to('progress').length;
    const reported = events.length;
    await sleep(300); // 15 poll intervals: a poller left running would show here
    assert.equal(fake.to('progress').length, polls, 'no more polls');
    assert.equal(events.length, reported, 'nothing reported after the abort settled');
  });

  it('a request that fails stops the polling too', async () => {
    fake.failNext('txt2img', 1, { hang: true });
    const f = await failure(provider({ timeoutMs: 300, maxRetries: 0 }, { progressIntervalMs: 20 }).generate(input({ onProgress: () => {} })));
    assert.equal(f.code, 'timeout');
    const polls = fake.to('progress').length;
    assert.ok(polls > 0, 'polled while the request hung');
    await sleep(300);
    assert.equal(fake.to('progress').length, polls);
  });

  it('a failing progress route never fails the generation; a 404 (no such route) ends the polling', async () => {
    fake.reset({ latencyMs: 300 });
    fake.failNext('progress', 1000, { status: 500 });
    const { events, sink } = recorder();
    const out = await provider({}, { progressIntervalMs: 20 }).generate(input({ onProgress: sink }));
    assert.equal((await sharp(out.bytes).metadata()).width, 512);
    assert.equal(events.length, 0);
    assert.ok(fake.to('progress').length > 1, '5xx: kept polling');

    fake.reset({ latencyMs: 300 });
    fake.failNext('progress', 1000, { status: 404, body: '{"detail": "Not Found"}' });
    await provider({}, { progressIntervalMs: 20 }).generate(input({ onProgress: sink }));
    assert.equal(fake.to('progress').length, 1, '404: asked once');
  });
});
