import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { EaselProcess, api, download } from '../helpers/server.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';
import { auditLedger } from '../helpers/ledger.js';
import { pollStory } from '../helpers/story.js';
import { figureSignature } from '../../src/providers/sketch/signature.js';
import { hasFigure } from '../../src/providers/sketch/detect.js';
import { stateAppearance } from '../../src/story/prompts.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** 3 characters, 3 states, 2 locations, 6 scenes: 6 portraits + 6 scenes = 12 images at EUR 0.02. */
const STORY = {
  model: 'easel-sketch',
  prompt: 'Three friends chase a stolen map across a harbour town and over the mountains.',
  style: 'flat colour illustration',
  setting: 'a northern coast, early autumn',
  aspect_ratio: '16:9',
  characters: [
    { name: 'Aria', appearance: 'a tall cartographer with copper hair and a blue scarf', states: { winter: { appearance: 'a heavy fur coat and snow goggles' }, gala: { appearance: 'a long green evening gown' } } },
    { name: 'Bo', appearance: 'a short sailor with a striped shirt and a grey beard', states: { disguise: { appearance: 'a fake moustache and a priest robe' } } },
    { name: 'Cato', appearance: 'a young courier with a yellow raincoat' },
  ],
  locations: [
    { name: 'Harbour', description: 'a busy harbour with fishing boats and gulls' },
    { name: 'Pass', description: 'a windy mountain pass covered in snow' },
  ],
  scenes: [
    { prompt: 'Aria and Bo find the torn map on the quay', characters: ['Aria', 'Bo'], location: 'Harbour' },
    { prompt: 'Aria climbs towards the pass alone', characters: [{ name: 'Aria', state: 'winter' }], location: 'Pass' },
    { prompt: 'Bo, disguised, questions Cato at the fish market', characters: [{ name: 'Bo', state: 'disguise' }, 'Cato'], location: 'Harbour' },
    { prompt: 'Cato runs through the rain with the map', characters: ['Cato'], aspect_ratio: '9:16' },
    { prompt: 'The three meet again at the mayor\'s ball', characters: [{ name: 'Aria', state: 'gala' }, 'Bo', 'Cato'] },
    { prompt: 'The empty pass at dawn, the map pinned to a signpost', location: 'Pass' },
  ],
};

/** Figure keys shown by each scene: a character's own key, or "name#state". */
const SHOWN = [['Aria', 'Bo'], ['Aria#winter'], ['Bo#disguise', 'Cato'], ['Cato'], ['Aria#gala', 'Bo', 'Cato'], []];
const KEYS = ['Aria', 'Aria#winter', 'Aria#gala', 'Bo', 'Bo#disguise', 'Cato'];
const REF_NAMES = ['Aria', 'Aria (winter)', 'Aria (gala)', 'Bo', 'Bo (disguise)', 'Cato'];

async function fetchChecked(f: { url: string; format: string; size_bytes: number; hash: string }): Promise<Buffer> {
  const dl = await download(f.url);
  assert.equal(dl.status, 200, f.url);
  assert.equal(dl.bytes.length, f.size_bytes);
  assert.equal(sha256(dl.bytes), f.hash);
  assert.equal((await sharp(dl.bytes).metadata()).format, f.format);
  return dl.bytes;
}

describe('POST /v1/generate/story', () => {
  let srv: EaselProcess;
  let key: string;
  let validateOpenApi: (name: string, v: unknown) => void;

  before(async () => {
    // Latency makes the running states observable while polling.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '150' } });
    key = await srv.createKey('story-main', '10');
    validateOpenApi = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  it('a 6-scene, 3-character story with states and locations completes with consistent characters and exact billing', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(res.status, 202, res.text);
    assertSpecShape('storyAccepted', res.body);
    validateOpenApi('StoryAccepted', res.body);
    const id = res.body.job_id;
    assert.equal(res.body.poll_url, `/v1/generate/story/${id}`);
    assert.equal(res.headers.get('x-easel-job-id'), id);
    assert.equal(res.headers.get('x-depicta-job-id'), id);

    const { job, seen } = await pollStory(srv, key, id, {
      onAnswer: (j) => {
        validateOpenApi('Job', j);
        if (j.status === 'completed') return;
        // While running, finished scenes are listed with their images; the count never lags the counter.
        const done = j.scenes.filter((s: any) => s.status === 'completed').length;
        assert.ok(done >= j.scenes_completed && done <= j.scenes_completed + 1, JSON.stringify(j.scenes));
        assert.deepEqual(j.scenes.map((s: any) => s.prompt), STORY.scenes.map((s) => s.prompt));
      },
    });
    assert.equal(job.status, 'completed', JSON.stringify(job));
    const counts = seen.map((j) => j.scenes_completed);
    // Six portraits (150 ms each) come before any scene, so the first answer still shows 0.
    assert.equal(counts[0], 0);
    assert.equal(counts[counts.length - 1], 6);
    assert.deepEqual(counts, [...counts].sort((a, b) => a - b), `scenes_completed only rises: ${counts.join(',')}`);
    assert.ok(seen.every((j) => j.scenes_total === 6));
    assert.equal(job.operation, 'story');
    assert.equal(job.scenes, undefined, 'the progress extension gives way to the result');

    const r = job.result;
    validateOpenApi('StoryResult', r);
    assert.equal(r.id, id);
    assert.equal(r.ai_generated, true);
    assert.equal(r.cost_eur, '0.240000');
    assert.equal(r.balance_eur, '9.760000');
    assert.deepEqual(r.scenes.map((s: any) => s.prompt), STORY.scenes.map((s) => s.prompt));
    assert.deepEqual(r.character_refs.map((c: any) => c.name), REF_NAMES);
    assert.deepEqual(r.character_refs.map((c: any) => c.state ?? null), [null, 'winter', 'gala', null, 'disguise', null]);
    assert.deepEqual(r.characters.map((c: any) => [c.name, c.reference_url, c.expires_at]), r.character_refs.map((c: any) => [c.name, c.url, c.expires_at]));

    // A figure's colours come from its key and its appearance (colour words pick hair and clothes).
    const appearanceOf = (k: string) => {
      const [name, state] = k.split('#');
      const c = STORY.characters.find((x) => x.name === name)!;
      const st = state ? (c.states as Record<string, { appearance: string }> | undefined)?.[state] : undefined;
      return st ? stateAppearance(c.appearance, state!, st.appearance) : c.appearance;
    };
    const sigs = new Map(KEYS.map((k) => [k, figureSignature(k, appearanceOf(k))]));
    assert.equal(new Set(KEYS.map((k) => JSON.stringify(sigs.get(k)))).size, KEYS.length, 'every key has its own signature');

    // Each portrait shows its own character and no other.
    for (const [i, ref] of r.character_refs.entries()) {
      assert.ok(Date.parse(ref.expires_at) > Date.now() + 3500_000);
      const png = (await download(ref.url)).bytes;
      assert.equal((await sharp(png).metadata()).format, 'png');
      for (const k of KEYS) assert.equal(await hasFigure(png, sigs.get(k)!), k === KEYS[i], `portrait ${ref.name} shows ${k}?`);
    }
    // Each scene shows exactly its characters, in the state it names, in every format. `images`
    // holds the URLs (as the Depicta stories guide reads them), `formats` each file's detail.
    for (const [i, scene] of r.scenes.entries()) {
      for (const fmt of ['png', 'jpeg', 'webp']) assert.equal(scene.images[fmt], scene.formats[fmt].url);
      const png = await fetchChecked(scene.formats.png);
      await fetchChecked(scene.formats.jpeg);
      await fetchChecked(scene.formats.webp);
      const meta = await sharp(png).metadata();
      assert.deepEqual([meta.width, meta.height], i === 3 ? [576, 1024] : [1024, 576], `scene ${i} size`);
      for (const k of KEYS) assert.equal(await hasFigure(png, sigs.get(k)!), SHOWN[i]!.includes(k), `scene ${i} shows ${k}?`);
    }

    const audit = await auditLedger(srv, 'story-main');
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, 12 * 20_000);
    assert.equal(audit.available, 10_000_000 - 12 * 20_000);
    assert.equal(audit.ledgerAvailable, audit.available);
    assert.equal(audit.ledgerHeld, audit.held);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);

    const same = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(same.body.status, 'completed');
    assert.deepEqual(same.body.result.scenes.map((s: any) => s.formats.png.hash), r.scenes.map((s: any) => s.formats.png.hash));
  });

  it('a client reference replaces the portrait (not generated, not charged) and comes back as given, without expiry', async () => {
    const first = await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key });
    const portraitUrl = first.body.generations[0].result.character_refs[0].url;
    const before = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur;
    const body = {
      model: 'sketch',
      characters: [
        { name: 'Aria', appearance: 'a tall cartographer', reference_url: portraitUrl, states: { winter: { appearance: 'a fur coat' } } },
        { name: 'Dov', appearance: 'a lighthouse keeper' },
      ],
      scenes: [{ prompt: 'Aria and Dov share tea', characters: ['Aria', 'Dov'] }, { prompt: 'Aria in the snow', characters: [{ name: 'Aria', state: 'winter' }] }],
    };
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body });
    assert.equal(res.status, 202, res.text);
    const { job } = await pollStory(srv, key, res.body.job_id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    // Portraits for Aria (winter) and Dov, plus 2 scenes; Aria's own reference is the client's.
    assert.equal(job.result.cost_eur, '0.080000');
    assert.equal((Number(before) - 0.08).toFixed(6), job.result.balance_eur);
    const aria = job.result.character_refs[0];
    assert.deepEqual(aria, { name: 'Aria', url: portraitUrl, expires_at: null, character: 'Aria' });
    assert.deepEqual(job.result.characters[0], { name: 'Aria', reference_url: portraitUrl, expires_at: null, character: 'Aria' });
    assert.notEqual(job.result.character_refs[1].expires_at, null);
    const png = (await download(job.result.scenes[0].images.png)).bytes;
    assert.ok(await hasFigure(png, figureSignature('Aria')));
    assert.ok(await hasFigure(png, figureSignature('Dov')));
    const audit = await auditLedger(srv, 'story-main');
    assert.equal(audit.held, 0);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('a storyboard sending null for every optional field (reference_url included), as the Depicta reference types them, is accepted', async () => {
    const body = {
      model: null,
      prompt: null,
      style: null,
      setting: null,
      aspect_ratio: null,
      image_size: null,
      raw_prompts: null,
      strictness: null,
      characters: [{ name: 'Aria', appearance: 'a tall cartographer', reference_url: null, states: { winter: { appearance: 'a fur coat', reference_url: null } } }],
      locations: [{ name: 'Harbour', description: 'a busy harbour', reference_url: null }],
      scenes: [{ prompt: 'Aria at the harbour', characters: [{ name: 'Aria', state: 'winter' }], location: 'Harbour', aspect_ratio: null, image_size: null }],
    };
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body });
    assert.equal(res.status, 202, res.text);
    const { job } = await pollStory(srv, key, res.body.job_id);
    assert.equal(job.status, 'completed', JSON.stringify(job));
    // null meant absent: both portraits were generated (2) and the scene drawn with the defaults (1:1, 1K).
    assert.equal(job.result.cost_eur, '0.060000');
    assert.deepEqual(job.result.character_refs.map((r: any) => r.name), ['Aria', 'Aria (winter)']);
    const png = await download(job.result.scenes[0].images.png);
    assert.equal(png.status, 200);
    assert.deepEqual([(await sharp(png.bytes).metadata()).width, (await sharp(png.bytes).metadata()).height], [1024, 1024]);
  });

  it('422 model_not_capable for a single-turn model, charging nothing', async () => {
    const before = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    const total = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total;
    for (const model of ['easel-sketch-fast', 'sketch-fast']) {
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: { ...STORY, model } });
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.error, 'model_not_capable');
      assert.match(res.body.message, /multi-turn/);
    }
    const after = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.deepEqual([after.balance_eur, after.held_eur], [before.balance_eur, before.held_eur]);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, total);
  });

  it('polls of another account\'s story answer 404; a non-UUID id 400', async () => {
    const other = await srv.createKey('story-other', '1');
    const mine = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=1', { key })).body.generations[0].job_id;
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/generate/story/${mine}`, { key: other })).status, 404);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/generate/story/not-a-uuid', { key })).status, 400);
  });
});
