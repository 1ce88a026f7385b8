import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download, waitFor } from '../helpers/server.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';
import { pollStory, TERMINAL } from '../helpers/story.js';
import { normalizeStory } from '../../src/story/request.js';
import { planStory } from '../../src/story/plan.js';

/**
 * Issue 22, item 4 for stories: every portrait and scene records the params of its own provider
 * call, shown on the story's views; and GET /v1/models shows a cacheable model's cache terms.
 */

/** 2 portraits (Ines, Ines (night)) + Oskar's, then 3 scenes of two sizes. Prompts go out as written, so the call log names each step. */
const STORY = {
  model: 'easel-sketch',
  raw_prompts: true,
  aspect_ratio: '16:9',
  characters: [
    { name: 'Ines', appearance: 'a botanist with a red hat', states: { night: { appearance: 'a dark cloak and a lantern' } } },
    { name: 'Oskar', appearance: 'a gardener with green overalls' },
  ],
  scenes: [
    { prompt: 'params story: the greenhouse at noon', characters: ['Ines', 'Oskar'] },
    { prompt: 'params story: a night walk', characters: [{ name: 'Ines', state: 'night' }], aspect_ratio: '9:16' },
    { prompt: 'params story: the first bloom', characters: ['Oskar'] },
  ],
};
/** What each step sends the provider, from the planner the server uses: matches a step to its logged call. */
const PLAN = planStory(normalizeStory(STORY as never, { model: 'easel-sketch', unitPriceMicros: 20_000, strictness: 'normal' }), '3:4');

interface Call {
  prompt: string;
  seed: number;
  pid: number;
}
const readCalls = (log: string): Call[] =>
  (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []).map((l) => JSON.parse(l) as Call);

/** The seed the provider was sent for a step's text (one call per step in these runs). */
function sentSeed(calls: Call[], text: string): number {
  const matching = calls.filter((c) => c.prompt === text);
  assert.equal(new Set(matching.map((c) => c.seed)).size, 1, `one seed sent for "${text.slice(0, 60)}": ${JSON.stringify(matching)}`);
  return matching[0]!.seed;
}

async function decodedSize(url: string): Promise<{ width: number; height: number }> {
  const dl = await download(url);
  assert.equal(dl.status, 200, url);
  const meta = await sharp(dl.bytes).metadata();
  return { width: meta.width!, height: meta.height! };
}

function assertSketchParams(p: any, what: string): void {
  assert.ok(p, `${what} has params`);
  assert.equal(p.model, 'easel-sketch', what);
  assert.equal(p.adapter, 'sketch/1', what);
  assert.equal(p.vendor_model, 'easel-sketch', what);
  assert.equal(p.vendor_version, null, what);
  assert.ok(Number.isInteger(p.seed), `${what}: numeric seed, got ${p.seed}`);
  // The renderer has no steps, sampler or guidance: null, not guessed.
  assert.deepEqual([p.steps, p.sampler, p.guidance], [null, null, null], what);
}

describe('story params and the catalogue cache terms (issue 22)', () => {
  let srv: EaselProcess;
  let key: string;
  let callLog: string;
  let validateOpenApi: (name: string, v: unknown) => void;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-story-params-'));
    callLog = path.join(dir, 'calls.jsonl');
    const models = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      models,
      `models:
  - { id: easel-sketch, name: Sketch, description: offline, provider: sketch, operations: [generate, edit, combine], price_eur: "0.020000", supports_multiturn: true }
  - { id: sketch-cached, name: Sketch cached, description: per-account cache, provider: sketch, operations: [generate], price_eur: "0.020000", cacheable: true, cache_price_eur: "0.005000" }
  - { id: sketch-shared, name: Sketch shared, description: shared cache, provider: sketch, operations: [generate], price_eur: "0.030000", cacheable: true, cache_shared: true }
`,
    );
    // Latency keeps the story running long enough to be seen with finished scenes.
    srv = await EaselProcess.start({ env: { EASEL_MODELS_FILE: models, EASEL_PROVIDER_CALL_LOG: callLog, EASEL_SKETCH_LATENCY_MS: '150' } });
    key = await srv.createKey('story-params', '5');
    validateOpenApi = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(async () => {
    await srv?.stop();
  });

  it('every scene and portrait shows the params of its own call: the seed sent, the size drawn, the renderer and its adapter', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(res.status, 202, res.text);
    let runningWithParams = 0;
    const { job } = await pollStory(srv, key, res.body.job_id, {
      onAnswer: (j) => {
        validateOpenApi('Job', j);
        if (j.status === 'completed') return;
        assert.equal(j.params, undefined, 'a story has no job-level params');
        for (const s of j.scenes) {
          if (s.status === 'completed') {
            assertSketchParams(s.params, `running: scene ${s.index}`);
            runningWithParams++;
          } else assert.equal(s.params, undefined, `scene ${s.index} (${s.status}) has no params yet`);
        }
      },
    });
    assert.equal(job.status, 'completed', JSON.stringify(job));
    assert.ok(runningWithParams > 0, 'a running story was seen with a finished scene');
    assert.equal(job.params, undefined, 'a story has no job-level params');
    const r = job.result;
    validateOpenApi('StoryResult', r);
    assertSpecShape('story', r);

    const calls = readCalls(callLog);
    // Scenes: the seed the provider was sent, and the size of the image it drew.
    for (const [i, scene] of r.scenes.entries()) {
      assertSketchParams(scene.params, `scene ${i}`);
      assert.equal(scene.params.seed, sentSeed(calls, PLAN.scenes[i]!.text), `scene ${i}: the seed sent`);
      assert.deepEqual({ width: scene.params.width, height: scene.params.height }, await decodedSize(scene.images.png), `scene ${i}: the size drawn`);
    }
    const seeds = r.scenes.map((s: any) => s.params.seed);
    assert.equal(new Set(seeds).size, seeds.length, `each scene has its own seed: ${seeds.join(', ')}`);
    // The 9:16 scene was asked for (and drawn) in another shape than the 16:9 ones.
    assert.ok(r.scenes[1].params.height > r.scenes[1].params.width && r.scenes[0].params.width > r.scenes[0].params.height);

    // Portraits: both arrays present them, with the same params.
    assert.equal(r.character_refs.length, PLAN.slots.length);
    for (const [i, ref] of r.character_refs.entries()) {
      assertSketchParams(ref.params, `portrait ${ref.name}`);
      assert.equal(ref.params.seed, sentSeed(calls, PLAN.slots[i]!.prompt), `portrait ${ref.name}: the seed sent`);
      assert.deepEqual({ width: ref.params.width, height: ref.params.height }, await decodedSize(ref.url), `portrait ${ref.name}: the size drawn`);
      assert.deepEqual(r.characters[i].params, ref.params);
    }
    const allSeeds = [...seeds, ...r.character_refs.map((c: any) => c.params.seed)];
    assert.equal(new Set(allSeeds).size, allSeeds.length, 'portraits and scenes each have their own seed');

    // The same params on a later read, from the records.
    const again = await api(srv.baseUrl, 'GET', `/v1/jobs/${job.job_id}`, { key });
    assert.deepEqual(again.body.result.scenes.map((s: any) => s.params), r.scenes.map((s: any) => s.params));
  });

  it("a client's own reference shows no params; the portraits drawn for the story do", async () => {
    const first = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key });
    const url = first.body.generations[0].result.character_refs[0].url;
    const body = {
      model: 'easel-sketch',
      characters: [{ name: 'Ines', appearance: 'a botanist with a red hat', reference_url: url }, { name: 'Oskar', appearance: 'a gardener' }],
      scenes: [{ prompt: 'params story: tea in the greenhouse', characters: ['Ines', 'Oskar'] }],
    };
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body });
    assert.equal(res.status, 202, res.text);
    const { job } = await pollStory(srv, key, res.body.job_id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    validateOpenApi('StoryResult', job.result);
    const [ines, oskar] = job.result.character_refs;
    assert.deepEqual(ines, { name: 'Ines', url, expires_at: null, character: 'Ines' });
    assertSketchParams(oskar.params, 'portrait Oskar');
    assertSketchParams(job.result.scenes[0].params, 'scene 0');
  });

  it('GET /v1/models shows the cache terms of cacheable models, and none for the others', async () => {
    const res = await api(srv.baseUrl, 'GET', '/v1/models', { key });
    assert.equal(res.status, 200, res.text);
    assertSpecShape('models', res.body);
    const byId = new Map(res.body.models.map((m: any) => [m.id, m]));
    const cached: any = byId.get('sketch-cached');
    assert.deepEqual([cached.cacheable, cached.cache_price_eur, cached.cache_shared], [true, '0.005000', false]);
    assert.equal(cached.approximate_cost_eur, '0.020000', 'the price itself is unchanged');
    const shared: any = byId.get('sketch-shared');
    // No cache_price_eur in the file: a cached result is free.
    assert.deepEqual([shared.cacheable, shared.cache_price_eur, shared.cache_shared], [true, '0.000000', true]);
    const plain: any = byId.get('easel-sketch');
    for (const f of ['cacheable', 'cache_price_eur', 'cache_shared']) assert.ok(!(f in plain), `easel-sketch has no ${f}`);
  });
});

describe('story params across a crash (SIGKILL)', () => {
  it('a scene whose raw output was kept before the kill shows, after the resume, the params its first run sent', async () => {
    const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-story-params-crash-')), 'calls.jsonl');
    // Hit 2 of the scene point: scene 1's raw output (and params) kept, nothing of it recorded yet.
    const srv = await EaselProcess.start({ env: { EASEL_CRASH_AT: 'story_scene_raw_stored:2', EASEL_PROVIDER_CALL_LOG: callLog, EASEL_LEASE_MS: '1000' } });
    try {
      const key = await srv.createKey('story-params-crash', '1');
      const killedPid = srv.child!.pid;
      await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY }).catch(() => null);
      const code = await Promise.race([srv.exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))]);
      assert.equal(code, null, 'killed by the crash point');

      await srv.boot({ EASEL_CRASH_AT: '' });
      const job = await waitFor(async () => {
        const r = await api(srv.baseUrl, 'GET', '/v1/jobs', { key });
        if (r.status === 429) return null;
        const jobs = r.body.generations;
        return jobs.length === 1 && TERMINAL.has(jobs[0].status) ? jobs[0] : null;
      }, 30_000, 150);
      assert.equal(job.status, 'completed', JSON.stringify(job));

      const calls = readCalls(callLog);
      const text = PLAN.scenes[1]!.text;
      // Scene 1 was drawn by the killed process only: its record comes from what that run kept.
      const drawnBy = calls.filter((c) => c.prompt === text).map((c) => c.pid);
      assert.ok(drawnBy.length >= 1 && drawnBy.every((pid) => pid === killedPid), `scene 1 drawn by ${drawnBy.join(', ')}; killed: ${killedPid}`);
      const scene = job.result.scenes[1];
      assertSketchParams(scene.params, 'resumed scene 1');
      assert.equal(scene.params.seed, sentSeed(calls, text));
      assert.deepEqual({ width: scene.params.width, height: scene.params.height }, await decodedSize(scene.images.png));
      for (const [i, s] of job.result.scenes.entries()) assert.equal(s.params.seed, sentSeed(calls, PLAN.scenes[i]!.text), `scene ${i}`);
    } finally {
      await srv.stop();
    }
  });
});
