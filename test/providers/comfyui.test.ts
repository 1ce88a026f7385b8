import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { JobFailure } from '../../src/errors.js';
import { ComfyUIProvider, comfyuiConfig, type ComfyUIOptions } from '../../src/providers/comfyui/comfyui-provider.js';
import { ComfyProgressTracker } from '../../src/providers/comfyui/progress-tracker.js';
import { parseWorkflowTemplate, quoteBarePlaceholders, txt2imgWorkflow, WorkflowTemplateError } from '../../src/providers/comfyui/workflow.js';
import type { GenerateInput, ProviderProgress } from '../../src/providers/port.js';
import { CircuitBreaker } from '../../src/providers/vendor/circuit-breaker.js';
import type { VendorConfig } from '../../src/providers/vendor/config.js';
import { ComfyUIFake, fakeColour } from '../fakes/comfyui-fake.js';

const CKPT = 'sd_xl_base_1.0.safetensors';

let fake: ComfyUIFake;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-comfyui-'));

before(async () => {
  fake = await ComfyUIFake.start({ pollsBeforeDone: 2 });
});
after(async () => {
  await fake.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => fake.reset());

function cfg(over: Partial<VendorConfig> = {}): VendorConfig {
  return { vendor: 'ComfyUI', apiKey: null, apiKeyVar: 'EASEL_COMFYUI_API_KEY', baseUrl: fake.url, timeoutMs: 5000, maxConcurrency: 2, maxRetries: 2, ...over };
}

function provider(over: Partial<VendorConfig> = {}, opts: ComfyUIOptions = {}, vendorModel = CKPT): ComfyUIProvider {
  return new ComfyUIProvider('comfy-test', vendorModel, cfg(over), {
    pollIntervalMs: 5,
    retryBaseMs: 5,
    workflowFile: null,
    breaker: new CircuitBreaker('ComfyUI', 100),
    ...opts,
  });
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

async function pixel(bytes: Buffer): Promise<{ r: number; g: number; b: number }> {
  const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { r: data[0]!, g: data[1]!, b: data[2]! };
}

function lastWorkflow(): Record<string, { class_type: string; inputs: Record<string, unknown> }> {
  const req = fake.to('prompt').at(-1)!;
  return (req.json as { prompt: Record<string, { class_type: string; inputs: Record<string, unknown> }> }).prompt;
}

function nodeOf(wf: ReturnType<typeof lastWorkflow>, cls: string) {
  return Object.entries(wf).filter(([, n]) => n.class_type === cls);
}

/** The one node of a class, as [id, node]. */
function only(wf: ReturnType<typeof lastWorkflow>, cls: string): [string, { class_type: string; inputs: Record<string, unknown> }] {
  const found = nodeOf(wf, cls);
  assert.equal(found.length, 1, `exactly one ${cls}`);
  return found[0]!;
}

describe('ComfyUI: generate', () => {
  it('runs the built-in graph and returns a decodable PNG of the requested size', async () => {
    const p = provider();
    assert.deepEqual(p.capabilities, { operations: ['generate', 'edit'], multiturn: false, maxConcurrency: 2, deterministic: true });
    assert.equal(p.adapterVersion, 'comfyui/2');
    const out = await p.generate(input());
    assert.equal(out.mime, 'image/png');
    const meta = await sharp(out.bytes).metadata();
    assert.equal(meta.width, 512);
    assert.equal(meta.height, 384);
    assert.deepEqual(await pixel(out.bytes), fakeColour('a lighthouse on a cliff at dusk', 1234567));

    // Submit once, poll until the history filled in (2 empty answers, then the entry), fetch /view once.
    assert.equal(fake.to('prompt').length, 1);
    assert.equal(fake.to('history').length, 3);
    assert.equal(fake.to('view').length, 1);
    const body = fake.to('prompt')[0]!.json as { prompt: unknown; client_id: unknown };
    assert.match(String(body.client_id), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a fresh client id per generation');
    assert.equal(fake.ws.connections, 0, 'no WebSocket when nobody listens for progress');
    const view = fake.to('view')[0]!.query;
    assert.match(view.filename!, /^easel_\d{5}_\.png$/);
    assert.deepEqual({ ...view, filename: undefined }, { filename: undefined, subfolder: '', type: 'output' });
    assert.equal(fake.requests.some((r) => 'authorization' in r.headers), false, 'no auth header without a key');
  });

  it('puts the prompt, seed, size and checkpoint into the graph (as the fake evaluated it)', async () => {
    await provider().generate(input({ prompt: 'red fox in snow', seed: 42, width: 768, height: 1024 }));
    const wf = lastWorkflow();
    const [, ksampler] = only(wf, 'KSampler');
    assert.equal(ksampler.inputs.seed, 42);
    assert.equal(ksampler.inputs.denoise, 1);
    const positive = wf[(ksampler.inputs.positive as [string, number])[0]]!;
    assert.equal(positive.class_type, 'CLIPTextEncode');
    assert.equal(positive.inputs.text, 'red fox in snow');
    assert.deepEqual(nodeOf(wf, 'EmptyLatentImage')[0]![1].inputs, { width: 768, height: 1024, batch_size: 1 });
    assert.equal(nodeOf(wf, 'CheckpointLoaderSimple')[0]![1].inputs.ckpt_name, CKPT);
    assert.equal(nodeOf(wf, 'SaveImage').length, 1);
    const render = [...fake.prompts.values()].at(-1)!.render;
    assert.equal(render.prompt, 'red fox in snow');
    assert.equal(render.seed, 42);
    assert.equal(render.checkpoint, CKPT);
    assert.deepEqual([render.width, render.height], [768, 1024]);
  });

  it('gives different images for different prompts or seeds', async () => {
    const p = provider();
    const a = await p.generate(input({ prompt: 'a cat', seed: 1 }));
    const b = await p.generate(input({ prompt: 'a cat', seed: 2 }));
    const c = await p.generate(input({ prompt: 'a dog', seed: 1 }));
    const px = await Promise.all([a, b, c].map((o) => pixel(o.bytes)));
    assert.notDeepEqual(px[0], px[1]);
    assert.notDeepEqual(px[0], px[2]);
  });

  it('adds figure appearances to the prompt (SD checkpoints read text only)', async () => {
    await provider().generate(input({ prompt: 'two friends at a table', figures: [{ key: 'mira', appearance: 'a woman with a red scarf' }] }));
    assert.equal([...fake.prompts.values()].at(-1)!.render.prompt, 'two friends at a table, a woman with a red scarf');
  });

  it('sends Authorization: Bearer when EASEL_COMFYUI_API_KEY is set (and the env config is read)', async () => {
    fake.token = 's3cret-token';
    const saved = { ...process.env };
    Object.assign(process.env, { EASEL_COMFYUI_API_KEY: 's3cret-token', EASEL_COMFYUI_BASE_URL: `${fake.url}/`, EASEL_COMFYUI_TIMEOUT_MS: '4000', EASEL_COMFYUI_MAX_CONCURRENCY: '3', EASEL_COMFYUI_MAX_RETRIES: '1' });
    try {
      const c = comfyuiConfig();
      assert.deepEqual({ ...c }, { vendor: 'ComfyUI', apiKey: 's3cret-token', apiKeyVar: 'EASEL_COMFYUI_API_KEY', baseUrl: fake.url, timeoutMs: 4000, maxConcurrency: 3, maxRetries: 1 });
      const p = new ComfyUIProvider('comfy-env', CKPT, c, { pollIntervalMs: 5, workflowFile: null, breaker: new CircuitBreaker('ComfyUI') });
      assert.equal(p.capabilities.maxConcurrency, 3);
      await p.generate(input());
      assert.ok(fake.requests.length >= 3);
      for (const r of fake.requests) assert.equal(r.headers.authorization, 'Bearer s3cret-token');
    } finally {
      process.env = saved;
    }
  });

  it('a server echoing the key in a 400 answer never gets it into the failure', async () => {
    const key = 'tok-ABCDEF-123456';
    fake.failNext('prompt', 1, { status: 400, body: JSON.stringify({ error: { type: 'invalid_prompt', message: `bad header Bearer ${key}`, details: key, extra_info: {} }, node_errors: { '4': { errors: [{ message: key, details: key }], class_type: key } } }) });
    const f = await failure(provider({ apiKey: key }).generate(input()));
    assert.equal(f.retryable, false);
    assert.match(f.message, /\[redacted\]/);
    assert.ok(!JSON.stringify({ m: f.message, d: f.details, s: f.stack, e: f }).includes(key));
  });

  it('a wrong or missing key (401 from the auth proxy) → provider_unavailable, key not in the message', async () => {
    fake.token = 'the-right-one';
    const f = await failure(provider({ apiKey: 'wrong-key-123' }).generate(input()));
    assert.equal(f.code, 'provider_unavailable');
    assert.equal(f.retryable, false);
    assert.ok(!JSON.stringify({ m: f.message, d: f.details, e: f }).includes('wrong-key-123'));
    assert.equal(fake.to('prompt').length, 1, 'a 401 is not retried');
  });
});

describe('ComfyUI: concurrency', () => {
  it('maxConcurrency 1 runs prompts one after the other (a shared Limiter per server)', async () => {
    const p1 = provider({ maxConcurrency: 1, baseUrl: `${fake.url}/api` }, { breaker: undefined });
    const p2 = provider({ maxConcurrency: 1, baseUrl: `${fake.url}/api` }, { breaker: undefined });
    await Promise.all([p1.generate(input({ seed: 1 })), p2.generate(input({ seed: 2 }))]);
    const order = fake.requests.map((r) => r.route);
    assert.deepEqual(order.slice(0, order.indexOf('view') + 1).filter((r) => r === 'prompt').length, 1, 'the second prompt waits for the first image');
    assert.equal(fake.to('prompt').length, 2);
  });
});

describe('ComfyUI: workflow template (EASEL_COMFYUI_WORKFLOW)', () => {
  const TEMPLATE = `{
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "{{checkpoint}}"}},
    "2": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry, {{negative_prompt}}", "clip": ["1", 1]}},
    "4": {"class_type": "EmptyLatentImage", "inputs": {"width": {{width}}, "height": "{{height}}", "batch_size": 1}},
    "5": {"class_type": "KSampler", "inputs": {"seed": {{ seed }}, "steps": 8, "cfg": 4.5, "sampler_name": "dpmpp_2m", "scheduler": "karras",
          "denoise": 1, "model": ["1", 0], "positive": ["2", 0], "negative": ["3", 0], "latent_image": ["4", 0]}},
    "6": {"class_type": "VAEDecode", "inputs": {"samples": ["5", 0], "vae": ["1", 2]}},
    "7": {"class_type": "SaveImage", "inputs": {"filename_prefix": "op-{{seed}}-\\"q\\"", "images": ["6", 0]}}
  }`;
  const file = path.join(tmp, 'workflow.json');
  before(() => fs.writeFileSync(file, TEMPLATE));

  it('substitutes typed values and escapes a hostile prompt correctly', async () => {
    const nasty = 'He said "hi" \\ then }} and {{seed}} {"3": {"class_type": "X"}} \\" \u2028 end';
    const p = provider({}, { workflowFile: file, negativePrompt: 'ugly "hands"' });
    const out = await p.generate(input({ prompt: nasty, seed: 987654, width: 640, height: 448 }));
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [640, 448]);

    const wf = lastWorkflow();
    assert.deepEqual(Object.keys(wf).sort(), ['1', '2', '3', '4', '5', '6', '7'], 'the prompt added no nodes');
    assert.equal(wf['2']!.inputs.text, nasty, 'the prompt arrives byte-for-byte, {{seed}} inside it untouched');
    assert.equal(wf['3']!.inputs.text, 'blurry, ugly "hands"');
    assert.equal(wf['5']!.inputs.seed, 987654);
    assert.equal(wf['4']!.inputs.width, 640);
    assert.equal(wf['4']!.inputs.height, 448, 'a whole-string placeholder becomes a number');
    assert.equal(wf['1']!.inputs.ckpt_name, CKPT);
    assert.equal(wf['7']!.inputs.filename_prefix, 'op-987654-"q"');
    assert.deepEqual(await pixel(out.bytes), fakeColour(nasty, 987654));
  });

  it('a prompt with $& or $1 is inserted literally when spliced into a longer string', async () => {
    const f2 = path.join(tmp, 'splice.json');
    fs.writeFileSync(f2, TEMPLATE.replace('"text": "{{prompt}}"', '"text": "masterpiece, {{prompt}}, 8k"'));
    await provider({}, { workflowFile: f2 }).generate(input({ prompt: 'cost $& and $1 and $$' }));
    assert.equal(lastWorkflow()['2']!.inputs.text, 'masterpiece, cost $& and $1 and $$, 8k');
  });

  it('is read from EASEL_COMFYUI_WORKFLOW by default', async () => {
    process.env.EASEL_COMFYUI_WORKFLOW = file;
    try {
      const p = new ComfyUIProvider('comfy-tpl', CKPT, cfg(), { pollIntervalMs: 5, breaker: new CircuitBreaker('ComfyUI') });
      assert.ok(p.template);
      await p.generate(input({ seed: 5 }));
      assert.equal(lastWorkflow()['5']!.inputs.sampler_name, 'dpmpp_2m');
    } finally {
      delete process.env.EASEL_COMFYUI_WORKFLOW;
    }
  });

  it('rejects unusable templates at construction with a message for the operator', () => {
    const cases: [string, RegExp][] = [
      ['{"1": {"class_type": "SaveImage", "inputs": {}}', /not valid JSON/],
      ['{"nodes": [], "links": []}', /UI-format.*Save \(API Format\)/],
      ['{"1": {"class_type": "SaveImage", "inputs": {"images": ["9", 0], "filename_prefix": "{{prompt}}"}}}', /links to node 9, which does not exist/],
      ['{"1": {"inputs": {"text": "{{prompt}}"}}, "2": {"class_type": "SaveImage", "inputs": {}}}', /node 1 has no class_type/],
      ['{"1": {"class_type": "CLIPTextEncode", "inputs": {"text": "{{prompt}}"}}}', /no node that saves an image/],
      ['{"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "{{promt}}"}}}', /unknown placeholder.*\{\{promt\}\}/],
      ['{"1": {"class_type": "SaveImage", "inputs": {"filename_prefix": "x"}}}', /no \{\{prompt\}\}/],
    ];
    for (const [text, re] of cases) {
      const f = path.join(tmp, 'bad.json');
      fs.writeFileSync(f, text);
      assert.throws(() => provider({}, { workflowFile: f }), (e: unknown) => e instanceof WorkflowTemplateError && re.test(e.message) && e.message.includes(f), text);
    }
    assert.throws(() => provider({}, { workflowFile: path.join(tmp, 'missing.json') }), /cannot be read \(ENOENT\)/);
  });

  it('quotes only bare placeholders, never ones inside strings', () => {
    assert.equal(quoteBarePlaceholders('{"a": {{seed}}, "b": "x {{seed}} \\" {{seed}}"}'), '{"a": "{{seed}}", "b": "x {{seed}} \\" {{seed}}"}');
    const t = parseWorkflowTemplate('{"prompt": {"9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "{{prompt}}"}}}}');
    assert.deepEqual(Object.keys(t.tree), ['9'], 'a saved {prompt: …} request body is accepted');
  });
});

describe('ComfyUI: edit (img2img)', () => {
  it('uploads the input, references it from LoadImage and samples with denoise 0.6', async () => {
    const source = await sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toBuffer();
    const p = provider();
    const out = await p.edit!({ ...input({ prompt: 'make it autumn', seed: 77, width: 512, height: 512 }), image: { bytes: source } });
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [512, 512], 'scaled to the requested size');

    const upload = fake.to('upload');
    assert.equal(upload.length, 1);
    assert.match(String(upload[0]!.headers['content-type']), /^multipart\/form-data; boundary=/);
    const [key, uploaded] = [...fake.uploads.entries()].at(-1)!;
    assert.match(key, /^easel\/easel-[0-9a-f]{32}\.png$/);
    assert.deepEqual([uploaded.width, uploaded.height], [300, 200]);

    const wf = lastWorkflow();
    const [loadId, load] = only(wf, 'LoadImage');
    assert.equal(load.inputs.image, key);
    const [, ks] = only(wf, 'KSampler');
    assert.equal(ks.inputs.denoise, 0.6);
    assert.equal(ks.inputs.seed, 77);
    const latent = wf[(ks.inputs.latent_image as [string, number])[0]]!;
    assert.equal(latent.class_type, 'VAEEncode');
    const scale = wf[(latent.inputs.pixels as [string, number])[0]]!;
    assert.equal(scale.class_type, 'ImageScale');
    assert.deepEqual(scale.inputs.image, [loadId, 0]);
    assert.equal(nodeOf(wf, 'EmptyLatentImage').length, 0);
    const render = [...fake.prompts.values()].at(-1)!.render;
    assert.equal(render.inputImage, uploaded.sha256);
    assert.deepEqual(await pixel(out.bytes), fakeColour('make it autumn', 77, uploaded.sha256));
  });

  it('a retried upload (503 once) is sent again and succeeds', async () => {
    fake.failNext('upload', 1, { status: 503 });
    const source = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#123456' } }).png().toBuffer();
    const out = await provider().edit!({ ...input({ width: 256, height: 256 }), image: { bytes: source } });
    assert.equal((await sharp(out.bytes).metadata()).width, 256);
    assert.equal(fake.to('upload').length, 2);
  });
});

describe('ComfyUI: failures', () => {
  it('5xx / 429 then success → retried, observed on the fake', async () => {
    fake.failNext('prompt', 1, { status: 503 });
    fake.failNext('history', 1, { status: 500 });
    fake.failNext('view', 1, { status: 429, retryAfter: '0' });
    const out = await provider({ maxRetries: 2 }).generate(input());
    assert.equal((await sharp(out.bytes).metadata()).width, 512);
    assert.equal(fake.to('prompt').length, 2, 'POST /prompt sent twice');
    assert.equal(fake.to('view').length, 2, 'GET /view sent twice');
    assert.equal(fake.to('history').length, 4, 'one failed poll + 2 empty + the finished one');
  });

  it('polling failing for good → retryable upstream_error, and the queued prompt is dropped', async () => {
    fake.failNext('history', 10, { status: 503 });
    const f = await failure(provider({ maxRetries: 1 }).generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, true);
    assert.equal(fake.to('history').length, 2);
    assert.deepEqual(fake.deleted, [[...fake.prompts.values()].at(-1)!.id]);
  });

  it('persistent 5xx → retryable upstream_error after maxRetries + 1 attempts', async () => {
    fake.failNext('prompt', 10, { status: 502 });
    const f = await failure(provider({ maxRetries: 2 }).generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, true);
    assert.match(f.message, /ComfyUI failed \(502\)/);
    assert.equal(fake.to('prompt').length, 3);
  });

  it('an invalid workflow (checkpoint not on the server) → non-retryable upstream_error naming the problem', async () => {
    const f = await failure(provider({}, {}, 'nope.safetensors').generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, false);
    assert.match(f.message, /ComfyUI rejected the workflow \(400\)/);
    assert.match(f.message, /node 4 \(CheckpointLoaderSimple\): Value not in list: ckpt_name: 'nope\.safetensors' not in/);
    assert.match(f.message, /operator/);
    assert.deepEqual(f.details, { vendor_status: 400, node_errors: { '4': 'CheckpointLoaderSimple' } });
    assert.equal(fake.to('prompt').length, 1, 'not retried');
    assert.equal(fake.to('history').length, 0);
  });

  it('scripted node_errors answer → non-retryable upstream_error', async () => {
    fake.failNext('prompt', 1, { nodeErrors: true });
    const f = await failure(provider().generate(input()));
    assert.equal(f.retryable, false);
    assert.match(f.message, /Prompt outputs failed validation; node 4 \(CheckpointLoaderSimple\): Value not in list/);
  });

  it('a template that the server rejects (wrong input type) → non-retryable upstream_error', async () => {
    const f = path.join(tmp, 'badtype.json');
    fs.writeFileSync(
      f,
      JSON.stringify({
        '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: CKPT } },
        '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['1', 0] } },
        '3': { class_type: 'EmptyLatentImage', inputs: { width: 'wide', height: 512, batch_size: 1 } },
        '5': { class_type: 'KSampler', inputs: { seed: '{{seed}}', steps: 8, cfg: 4, sampler_name: 'euler', scheduler: 'normal', denoise: 1, model: ['1', 0], positive: ['2', 0], negative: ['2', 0], latent_image: ['3', 0] } },
        '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
        '7': { class_type: 'SaveImage', inputs: { filename_prefix: 'x', images: ['6', 0] } },
      }),
    );
    const fail = await failure(provider({}, { workflowFile: f }).generate(input()));
    assert.equal(fail.retryable, false);
    assert.match(fail.message, /node 2 \(CLIPTextEncode\): Return type mismatch/);
    assert.match(fail.message, /node 3 \(EmptyLatentImage\): Failed to convert an input value to a INT value/);
  });

  it('an execution error in the history → non-retryable upstream_error with the exception', async () => {
    fake.outcome = 'execution_error';
    const f = await failure(provider().generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, false);
    assert.match(f.message, /KSampler \(node 3\) raised RuntimeError: mat1 and mat2 shapes cannot be multiplied/);
    assert.equal(fake.to('view').length, 0);
  });

  it('out of memory while running → retryable upstream_error; an interrupted run → retryable', async () => {
    fake.outcome = 'oom';
    const oom = await failure(provider().generate(input()));
    assert.equal(oom.code, 'upstream_error');
    assert.equal(oom.retryable, true);
    assert.match(oom.message, /torch\.OutOfMemoryError/);
    fake.outcome = 'interrupted';
    const intr = await failure(provider().generate(input()));
    assert.equal(intr.retryable, true);
    assert.match(intr.message, /interrupted/);
  });

  it('never completes → retryable timeout at cfg.timeoutMs, and the prompt is dropped from the queue', async () => {
    fake.outcome = 'never';
    const started = Date.now();
    const f = await failure(provider({ timeoutMs: 300 }).generate(input()));
    const took = Date.now() - started;
    assert.equal(f.code, 'timeout');
    assert.equal(f.retryable, true);
    assert.match(f.message, /ComfyUI did not deliver the image within/);
    assert.ok(took >= 290 && took < 3000, `took ${took} ms`);
    assert.ok(fake.to('history').length > 3, 'kept polling until the deadline');
    const promptId = [...fake.prompts.values()].at(-1)!.id;
    assert.deepEqual(fake.deleted, [promptId]);
  });

  it('a hanging server → timeout', async () => {
    fake.failNext('history', 1, { hang: true });
    const f = await failure(provider({ timeoutMs: 250, maxRetries: 0 }).generate(input()));
    assert.equal(f.code, 'timeout');
    assert.equal(f.retryable, true);
  });

  it('the job signal aborting stops polling with a retryable timeout', async () => {
    fake.outcome = 'never';
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 60);
    const f = await failure(provider().generate(input({ signal: ac.signal })));
    assert.equal(f.code, 'timeout');
    assert.match(f.message, /aborted/);
  });

  it('malformed JSON from /prompt or /history → non-retryable upstream_error', async () => {
    fake.failNext('prompt', 1, { malformed: true });
    const a = await failure(provider().generate(input()));
    assert.equal(a.code, 'upstream_error');
    assert.equal(a.retryable, false);
    assert.match(a.message, /could not understand: a response that is not JSON/);
    assert.equal(fake.to('prompt').length, 1);

    fake.failNext('history', 1, { malformed: true });
    const b = await failure(provider().generate(input()));
    assert.equal(b.retryable, false);
    assert.match(b.message, /not JSON/);
  });

  it('a /prompt answer without prompt_id, or a finished entry without images → malformed', async () => {
    fake.failNext('prompt', 1, { status: 200, body: '{"number": 3, "node_errors": {}}' });
    const a = await failure(provider().generate(input()));
    assert.equal(a.retryable, false);
    assert.match(a.message, /without a prompt_id/);

    fake.failNext('history', 1, { status: 200, body: '[1, 2]' });
    const b = await failure(provider().generate(input()));
    assert.equal(b.retryable, false);
    assert.match(b.message, /a JSON answer that is not an object/);

    fake.failNext('history', 1, { historyEntry: { outputs: { '9': { images: [] } }, status: { status_str: 'success', completed: true, messages: [] } } });
    const c = await failure(provider().generate(input()));
    assert.equal(c.retryable, false);
    assert.match(c.message, /a finished prompt without an output image/);

    fake.failNext('history', 1, { historyEntry: { outputs: {}, status: 'done' } });
    const d = await failure(provider().generate(input()));
    assert.match(d.message, /unreadable status/);
  });

  it('an entry still running (completed false) keeps polling; one from a server without `status` counts as done', async () => {
    fake.failNext('history', 2, { historyEntry: { outputs: {}, status: { status_str: 'success', completed: false, messages: [] } } });
    await provider().generate(input());
    assert.equal(fake.to('history').length, 5, '2 running answers, 2 empty ones, then the finished entry');

    fake.reset();
    fake.legacyHistory = true;
    const out = await provider().generate(input());
    assert.equal((await sharp(out.bytes).metadata()).height, 384);
    assert.equal(fake.to('history').length, 3);
  });

  it('non-image bytes from /view → non-retryable upstream_error', async () => {
    fake.failNext('view', 1, { nonImage: true });
    const f = await failure(provider().generate(input()));
    assert.equal(f.code, 'upstream_error');
    assert.equal(f.retryable, false);
    assert.match(f.message, /ComfyUI answered something we could not understand: an image in an unsupported format \(unknown\)|does not decode/);
  });

  it('truncated PNG bytes from /view → non-retryable upstream_error', async () => {
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#336699' } }).png().toBuffer();
    fake.failNext('view', 1, { status: 200, body: png.subarray(0, png.length - 40) });
    const f = await failure(provider().generate(input()));
    assert.equal(f.retryable, false);
    assert.match(f.message, /does not decode/);
  });

  it('the circuit breaker opens after repeated failures and then stops calling the server', async () => {
    const breaker = new CircuitBreaker('ComfyUI', 3, 60_000);
    const p = provider({ maxRetries: 0 }, { breaker });
    fake.failNext('prompt', 3, { status: 503 });
    for (let i = 0; i < 3; i++) assert.equal((await failure(p.generate(input()))).code, 'upstream_error');
    assert.equal(breaker.state, 'open');
    const before = fake.requests.length;
    const f = await failure(p.generate(input()));
    assert.equal(f.code, 'provider_unavailable');
    assert.equal(f.retryable, true);
    assert.ok((f.retryAfterMs ?? 0) > 0);
    assert.equal(fake.requests.length, before, 'no request reached the server while open');
  });

  it('a 404 at /prompt → non-retryable upstream_error telling the operator to check the base URL', async () => {
    const f = await failure(new ComfyUIProvider('x', CKPT, cfg({ baseUrl: `${fake.url}/not-comfy` }), { pollIntervalMs: 5, workflowFile: null, breaker: new CircuitBreaker('ComfyUI') }).generate(input()));
    assert.equal(f.retryable, false);
    assert.match(f.message, /EASEL_COMFYUI_BASE_URL/);
  });
});

describe('ComfyUI: fake validation (the fake refuses what ComfyUI refuses)', () => {
  async function post(body: unknown) {
    const res = await fetch(`${fake.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { error: { type: string; message: string }; node_errors: Record<string, unknown> } };
  }
  it('refuses missing class_type, unknown nodes, dangling links, no SaveImage', async () => {
    assert.equal((await post({})).json.error.type, 'no_prompt');
    assert.match((await post({ prompt: { '1': { inputs: {} } } })).json.error.message, /missing the class_type/);
    assert.equal((await post({ prompt: { '1': { class_type: 'Nope', inputs: {} } } })).json.error.type, 'missing_node_type');
    assert.equal((await post({ prompt: { '1': { class_type: 'VAEDecode', inputs: { samples: ['9', 0], vae: ['9', 2] } } } })).json.error.type, 'prompt_no_outputs');
    const dangling = await post({ prompt: { '1': { class_type: 'SaveImage', inputs: { images: ['9', 0], filename_prefix: 'x' } } } });
    assert.equal(dangling.status, 400);
    assert.match(JSON.stringify(dangling.json.node_errors), /Linked node does not exist/);
  });
});

// ---------------------------------------------------------------------------------------------
// Live progress (issue 22): the WebSocket, against the fake's /ws

const STAGE_RANK = { queued: 0, loading: 1, sampling: 2, encoding: 3 } as const;

function recorder() {
  const events: ProviderProgress[] = [];
  return { events, sink: (p: ProviderProgress) => void events.push(p) };
}

/** Waits (bounded) for something the fake sees asynchronously, e.g. a socket's close handshake. */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`still not: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function brightness(bytes: Buffer): Promise<number> {
  const { channels } = await sharp(bytes).stats();
  return channels.slice(0, 3).reduce((n, c) => n + c.mean, 0) / 3;
}

describe('ComfyUI: live progress over the WebSocket', () => {
  it('reports queued → loading → sampling (every step to max, with previews) → encoding, and the params it sent', async () => {
    fake.reset({ latencyMs: 600 });
    const { events, sink } = recorder();
    const p = provider();
    const out = await p.generate(input({ onProgress: sink }));
    assert.equal((await sharp(out.bytes).metadata()).width, 512, 'the result still comes from /history + /view');

    // The socket used the client id the prompt was queued with, and is closed now.
    const clientId = (fake.to('prompt')[0]!.json as { client_id: string }).client_id;
    assert.deepEqual(fake.ws.clientIds, [clientId]);
    await until(() => fake.ws.open === 0, 'the socket closed after the generation');

    assert.ok(events.length > 0, 'progress arrived');
    const ranks = events.map((e) => STAGE_RANK[e.stage]);
    assert.deepEqual(ranks, [...ranks].sort((a, b) => a - b), `stages in order: ${events.map((e) => e.stage).join(' ')}`);
    assert.equal(events[0]!.stage, 'queued');
    assert.ok(events.some((e) => e.stage === 'loading'));
    assert.equal(events.at(-1)!.stage, 'encoding');

    const steps = events.filter((e) => e.stage === 'sampling' && e.step !== undefined);
    const seen = [...new Set(steps.map((e) => e.step!))];
    assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => i + 1), 'every step of the 20, climbing');
    for (let i = 1; i < steps.length; i++) assert.ok(steps[i]!.step! >= steps[i - 1]!.step!, 'never back');
    assert.ok(steps.every((e) => e.steps === 20));

    const fractions = events.filter((e) => e.fraction !== undefined).map((e) => e.fraction!);
    for (let i = 1; i < fractions.length; i++) assert.ok(fractions[i]! >= fractions[i - 1]!, `fraction monotone: ${fractions.join(',')}`);
    assert.ok(fractions.at(-1)! >= 0.99 && fractions.at(-1)! <= 1);

    const previews = events.filter((e) => e.preview);
    assert.ok(previews.length >= 2, `${previews.length} previews`);
    assert.ok(events.findIndex((e) => e.preview) < events.findIndex((e) => e.stage === 'encoding'), 'previews arrive while sampling');
    const formats = new Set<string>();
    for (const e of previews) {
      const meta = await sharp(e.preview!.bytes).metadata();
      assert.ok((meta.width ?? 0) > 0, 'a preview sharp decodes (the 8-byte header stripped)');
      formats.add(String(meta.format));
    }
    assert.deepEqual([...formats].sort(), ['jpeg', 'png'], 'both image types of the binary frame');
    assert.ok((await brightness(previews.at(-1)!.preview!.bytes)) > (await brightness(previews[0]!.preview!.bytes)), 'later previews show later steps');

    assert.deepEqual(out.params, { vendor_model: CKPT, seed: 1234567, steps: 20, sampler: 'euler', guidance: 7 });
  });

  it('params come from the workflow actually sent (template and sampler options)', async () => {
    const file = path.join(tmp, 'params.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: '{{checkpoint}}' } },
        '2': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['1', 1] } },
        '4': { class_type: 'EmptyLatentImage', inputs: { width: '{{width}}', height: '{{height}}', batch_size: 1 } },
        '5': { class_type: 'KSampler', inputs: { seed: '{{seed}}', steps: 6, cfg: 3.5, sampler_name: 'dpmpp_2m', scheduler: 'karras', denoise: 1, model: ['1', 0], positive: ['2', 0], negative: ['2', 0], latent_image: ['4', 0] } },
        '6': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
        '7': { class_type: 'SaveImage', inputs: { filename_prefix: 'x', images: ['6', 0] } },
      }),
    );
    const { events, sink } = recorder();
    const out = await provider({}, { workflowFile: file }).generate(input({ seed: 99, onProgress: sink }));
    assert.deepEqual(out.params, { vendor_model: CKPT, seed: 99, steps: 6, sampler: 'dpmpp_2m', guidance: 3.5 });
    assert.equal(Math.max(...events.map((e) => e.step ?? 0)), 6, "the template's sampler counts its own 6 steps");

    const opts = await provider({}, { sampler: { steps: 9, cfg: 5, samplerName: 'heun' } }).generate(input({ seed: 5 }));
    assert.deepEqual(opts.params, { vendor_model: CKPT, seed: 5, steps: 9, sampler: 'heun', guidance: 5 }, 'params without a progress listener too');
  });

  it('two generations at once each see only their own prompt', async () => {
    fake.reset({ latencyMs: 400 });
    const a = recorder();
    const b = recorder();
    await Promise.all([
      provider({}, { sampler: { steps: 8 } }).generate(input({ seed: 1, onProgress: a.sink })),
      provider({}, { sampler: { steps: 12 } }).generate(input({ seed: 2, onProgress: b.sink })),
    ]);
    assert.equal(fake.ws.connections, 2);
    assert.deepEqual(new Set(a.events.filter((e) => e.steps !== undefined).map((e) => e.steps)), new Set([8]));
    assert.deepEqual(new Set(b.events.filter((e) => e.steps !== undefined).map((e) => e.steps)), new Set([12]));
  });

  it('without the WebSocket (refused by the server) the generation completes by polling, reporting nothing', async () => {
    fake.reset({ latencyMs: 150, websocket: false });
    const { events, sink } = recorder();
    const out = await provider().generate(input({ onProgress: sink }));
    assert.deepEqual(await pixel(out.bytes), fakeColour('a lighthouse on a cliff at dusk', 1234567));
    assert.equal(events.length, 0, 'no progress without the socket');
    assert.equal(fake.ws.connections, 0);
    assert.equal(out.params?.seed, 1234567);
  });

  it('a socket dropped mid-run: the generation still completes by polling', async () => {
    fake.reset({ latencyMs: 500 });
    const { events, sink } = recorder();
    const out = await provider().generate(
      input({
        onProgress: (p) => {
          sink(p);
          if (p.step === 3) fake.ws.dropAll();
        },
      }),
    );
    assert.equal((await sharp(out.bytes).metadata()).height, 384);
    assert.ok(Math.max(...events.map((e) => e.step ?? 0)) < 20, 'nothing after the drop');
    assert.equal(fake.ws.open, 0);
  });

  it('the socket saying "done" wakes the /history poll (no waiting out a long poll interval)', async () => {
    fake.reset({ latencyMs: 200, pollsBeforeDone: 0 });
    // First poll at once (not done yet), the next one 20 s later: only the wake-up can finish within the 3 s deadline.
    const out = await provider({ timeoutMs: 3000 }, { pollIntervalMs: 20_000 }).generate(input({ onProgress: () => {} }));
    assert.equal((await sharp(out.bytes).metadata()).width, 512);
    assert.equal(fake.to('history').length, 2);
  });

  it('aborting mid-run closes the socket (and drops the prompt from the queue)', async () => {
    fake.reset({ latencyMs: 3000 });
    const ac = new AbortController();
    const { events, sink } = recorder();
    const f = await failure(
      provider().generate(
        input({
          signal: ac.signal,
          onProgress: (p) => {
            sink(p);
            if (p.step === 2) ac.abort();
          },
        }),
      ),
    );
    assert.equal(f.code, 'timeout');
    assert.match(f.message, /aborted/);
    assert.equal(fake.ws.connections, 1);
    const reported = events.length;
    await until(() => fake.ws.open === 0, 'the socket closed after the abort');
    assert.equal(events.length, reported, 'nothing reported after the abort settled');
    assert.deepEqual(fake.deleted, [[...fake.prompts.values()].at(-1)!.id]);
    assert.ok(events.some((e) => e.step === 2));
  });

  it('a failed run closes its socket and never reports encoding', async () => {
    fake.reset({ latencyMs: 200 });
    fake.outcome = 'execution_error';
    const { events, sink } = recorder();
    const f = await failure(provider().generate(input({ onProgress: sink })));
    assert.match(f.message, /RuntimeError/);
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.stage !== 'encoding'), events.map((e) => e.stage).join(' '));
    await until(() => fake.ws.open === 0, 'the socket closed after the failure');
  });

  it('the tracker counts only our prompt id and replays what came before the id was known', () => {
    const wf = txt2imgWorkflow({ checkpoint: CKPT, prompt: 'x', negativePrompt: '', seed: 1, width: 64, height: 64, sampler: { steps: 4, cfg: 7, samplerName: 'euler', scheduler: 'normal' } });
    const { events, sink } = recorder();
    const t = new ComfyProgressTracker(wf, sink);
    const msg = (type: string, data: Record<string, unknown>) => t.onText(JSON.stringify({ type, data }));
    msg('execution_start', { prompt_id: 'ours' });
    msg('progress', { value: 1, max: 4, prompt_id: 'ours', node: '3' });
    msg('progress', { value: 3, max: 50, prompt_id: 'theirs', node: '3' });
    assert.equal(events.length, 0, 'held until the id is known');
    t.track('ours');
    msg('progress', { value: 7, max: 9, prompt_id: 'theirs', node: '3' });
    msg('executing', { node: null, prompt_id: 'theirs' });
    msg('progress', { value: 2, max: 4, prompt_id: 'ours', node: '3' });
    const preview = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from('png-bytes')]);
    t.onBinary(preview);
    t.onBinary(Buffer.concat([Buffer.from([0, 0, 0, 3, 0, 0, 0, 2]), Buffer.from('not a preview event')]));
    msg('progress', { value: 1, max: 1, prompt_id: 'ours', node: '8' }); // the VAE decode's own bar: not a step
    msg('executing', { node: null, prompt_id: 'ours' });
    assert.deepEqual(
      events.map((e) => [e.stage, e.step, e.steps, e.preview?.bytes.toString()]),
      [
        ['loading', undefined, undefined, undefined],
        ['sampling', 1, 4, undefined],
        ['sampling', 2, 4, undefined],
        ['sampling', 2, 4, 'png-bytes'],
        ['encoding', 2, 4, undefined],
      ],
    );
  });
});
