import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, MODE, S3_ENDPOINT, api, download } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { pollStory } from '../helpers/story.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { OpenAIFake, colourOf } from '../fakes/openai-fake.js';
import { GeminiFake } from '../fakes/gemini-fake.js';

const OPENAI_KEY = 'sk-test-openai-secret-123456';
const GEMINI_KEY = 'AIza-test-gemini-secret-654321';

/** Real vendor adapters behind the whole pipeline: the local fakes speak each vendor's wire format. */
describe('models served by vendor adapters, through the API', () => {
  let openai: OpenAIFake;
  let gemini: GeminiFake;
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    openai = await OpenAIFake.start({ apiKey: OPENAI_KEY });
    // strictHistory: a model turn must carry an image this fake produced for the user turn before it.
    gemini = await GeminiFake.start({ apiKey: GEMINI_KEY, strictHistory: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-models-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `defaults: { image: gpt-image-1 }
models:
  - { id: gpt-image-1, aliases: [gpt-image], name: GPT Image, description: OpenAI, provider: openai, vendor_model: gpt-image-1, operations: [generate, edit, combine], price_eur: "0.045000", fixed_sizes: [1024x1024] }
  - { id: gemini-2.5-flash-image, aliases: [gemini], name: Gemini, description: Google, provider: gemini, vendor_model: gemini-2.5-flash-image, operations: [generate, edit, combine], price_eur: "0.040000", supports_multiturn: true, max_characters: 10 }
  - { id: easel-sketch, name: Sketch, description: offline, provider: sketch, operations: [generate], price_eur: "0.020000", supports_multiturn: true }
`,
    );
    srv = await EaselProcess.start({
      env: {
        EASEL_MODELS_FILE: file,
        EASEL_OPENAI_API_KEY: OPENAI_KEY,
        EASEL_OPENAI_BASE_URL: openai.baseUrl,
        EASEL_OPENAI_MAX_RETRIES: '2',
        EASEL_GEMINI_API_KEY: GEMINI_KEY,
        EASEL_GEMINI_BASE_URL: gemini.baseUrl,
        EASEL_RETRY_BASE_MS: '50',
        EASEL_MAX_ATTEMPTS: '1',
      },
    });
    key = await srv.createKey('vendors', '5');
  });
  after(async () => {
    await srv.stop();
    await openai.close();
    await gemini.close();
  });

  it('GET /v1/models describes the catalogue file (aliases, operations, prices) and never a secret', async () => {
    const res = await api(srv.baseUrl, 'GET', '/v1/models', { key });
    assert.equal(res.status, 200);
    assertSpecShape('models', res.body);
    const ids = res.body.models.map((m: any) => m.id);
    assert.deepEqual(ids, ['gpt-image-1', 'gemini-2.5-flash-image', 'easel-sketch']);
    const gpt = res.body.models[0];
    assert.deepEqual(gpt.aliases, ['gpt-image']);
    assert.deepEqual(gpt.operations, ['generate', 'edit', 'combine']);
    assert.equal(gpt.can_edit, true);
    assert.equal(gpt.approximate_cost_eur, '0.045000');
    assert.deepEqual(gpt.fixed_sizes, ['1024x1024']);
    assert.equal(res.body.models[1].supports_multiturn, true);
    assert.ok(!res.text.includes(OPENAI_KEY) && !res.text.includes(GEMINI_KEY) && !res.text.includes(openai.baseUrl));
  });

  it('an OpenAI image goes through the whole pipeline to our own signed URL (auto-selected by the default)', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a vendor made lighthouse' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model, 'gpt-image-1');
    assert.equal(res.body.cost_eur, '0.045000');
    const url = new URL(res.body.formats.png.url);
    assert.notEqual(url.origin, new URL(openai.baseUrl).origin, 'a client never sees a vendor URL');
    assert.equal(url.origin, new URL(MODE === 'scaleout' ? S3_ENDPOINT : srv.baseUrl).origin, 'the image was re-stored by Easel');
    const png = await download(res.body.formats.png.url);
    const { data } = await sharp(png.bytes).raw().toBuffer({ resolveWithObject: true });
    const vendorPrompt = [...openai.produced.values()].at(-1)!;
    assert.match(vendorPrompt, /a vendor made lighthouse/);
    assert.deepEqual([...data.subarray(0, 3)], colourOf(vendorPrompt), 'the pixels are the vendor’s');
    assert.equal(openai.api().at(-1)!.headers.authorization, `Bearer ${OPENAI_KEY}`);
  });

  it('a Gemini image by alias', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a vendor made fox', model: 'gemini' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.model, 'gemini-2.5-flash-image');
    assert.equal((await sharp((await download(res.body.formats.webp.url)).bytes).metadata()).format, 'webp');
  });

  it('vendor failures map to the contract and charge nothing', async () => {
    const before = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur;
    openai.failNext(3, 503);
    const down = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'vendor down' } });
    assert.equal(down.status, 502);
    assert.equal(down.body.error, 'upstream_error');

    openai.script({ kind: 'safety', code: 'moderation_blocked' });
    const blocked = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'vendor blocks this' } });
    assert.equal(blocked.status, 403);
    assert.equal(blocked.body.error, 'content_rejected');
    assert.match(blocked.body.message, /blocked the prompt or input images/);

    openai.script({ kind: 'unauthorized' });
    const auth = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'bad vendor key' } });
    assert.equal(auth.status, 503);
    assert.equal(auth.body.error, 'service_unavailable');
    assert.ok(!auth.text.includes(OPENAI_KEY), 'the vendor key never reaches a client');

    openai.script({ kind: 'malformed-json' });
    const nonsense = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'vendor talks nonsense' } });
    assert.equal(nonsense.status, 502);
    assert.equal(nonsense.body.error, 'upstream_error');

    const after = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.equal(after.balance_eur, before, 'nothing charged for any failure');
    assert.equal(after.held_eur, '0.000000');
    const audit = await auditLedger(srv, 'vendors');
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.ok(!srv.logs.join('\n').includes(OPENAI_KEY), 'the vendor key is never logged');
    assert.ok(!srv.logs.join('\n').includes(key), 'the client key is never logged');
  });
  it('a story through the multi-turn Gemini adapter: each scene request carries the earlier scenes as turns', async () => {
    const scenes = ['Mila opens the lighthouse door', 'Mila climbs the spiral stairs', 'Mila lights the great lamp'];
    const story = {
      model: 'gemini',
      prompt: 'A keeper restores an old lighthouse.',
      characters: [{ name: 'Mila', appearance: 'an old keeper with a red knitted hat' }],
      scenes: scenes.map((prompt) => ({ prompt, characters: ['Mila'] })),
    };
    const from = gemini.requests.length;
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story });
    assert.equal(res.status, 202, res.text);
    const { job } = await pollStory(srv, key, res.body.job_id, { stepMs: 100 });
    assert.equal(job.status, 'completed', JSON.stringify(job.error));
    assert.equal(job.scenes_completed, 3);
    const calls = gemini.requests.slice(from).filter((r) => r.contents);
    // Which call drew which scene: the last user turn names the scene's prompt.
    const sceneCalls = scenes.map((prompt) => {
      const c = calls.find((r) => r.answer === 200 && r.contents!.at(-1)!.texts.join(' ').includes(prompt));
      assert.ok(c, `no successful vendor call for scene "${prompt}"`);
      return c!;
    });
    for (const [i, call] of sceneCalls.entries()) {
      const userTurns = call.contents!.filter((t) => t.role === 'user').map((t) => t.texts.join(' '));
      const modelTurns = call.contents!.filter((t) => t.role === 'model');
      // Every earlier scene is an earlier user turn answered by a model turn with its image
      // (the strict fake has already proved each image was produced for that very turn).
      for (const earlier of scenes.slice(0, i)) assert.ok(userTurns.slice(0, -1).some((t) => t.includes(earlier)), `scene ${i + 1} lacks the turn of "${earlier}"`);
      assert.equal(modelTurns.length, i, `scene ${i + 1} carries ${modelTurns.length} earlier turns`);
      assert.ok(modelTurns.every((t) => t.images.length === 1));
    }
    for (const scene of job.result.scenes) assert.equal((await download(scene.images.png)).status, 200);
    const audit = await auditLedger(srv, 'vendors');
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('a story on a single-turn vendor model is 422 model_not_capable and charges nothing', async () => {
    const before = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur;
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', {
      key,
      body: { model: 'gpt-image', characters: [{ name: 'Mila', appearance: 'a keeper' }], scenes: [{ prompt: 'Mila waves', characters: ['Mila'] }] },
    });
    assert.equal(res.status, 422, res.text);
    assert.equal(res.body.error, 'model_not_capable');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur, before);
  });
});
