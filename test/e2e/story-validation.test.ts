import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, api } from '../helpers/server.js';

/** A valid storyboard; each case below breaks exactly one thing in a copy of it. */
const base = () => ({
  model: 'easel-sketch',
  characters: [
    { name: 'Aria', appearance: 'a tall cartographer', states: { winter: { appearance: 'a fur coat' } } },
    { name: 'Bo', appearance: 'a short sailor' },
  ] as any[],
  locations: [{ name: 'Harbour', description: 'a busy harbour' }] as any[],
  scenes: [
    { prompt: 'Aria and Bo meet', characters: ['Aria', 'Bo'], location: 'Harbour' },
    { prompt: 'Aria in the snow', characters: [{ name: 'Aria', state: 'winter' }] },
    { prompt: 'Bo at the harbour', characters: ['Bo'], location: 'Harbour' },
    { prompt: 'Everyone sleeps', characters: ['Aria', 'Bo'] },
  ] as any[],
});

type Case = { name: string; body: any; status: number; error: string; path: string };

const scene = (prompt: string) => ({ prompt });
const CASES: Case[] = [
  { name: 'unknown character', body: { ...base(), scenes: base().scenes.map((s, i) => (i === 3 ? { ...s, characters: ['Zed'] } : s)) }, status: 422, error: 'validation_failed', path: 'scenes[3].characters[0]' },
  { name: 'unknown state', body: { ...base(), scenes: base().scenes.map((s, i) => (i === 1 ? { ...s, characters: ['Bo', { name: 'Aria', state: 'summer' }] } : s)) }, status: 422, error: 'validation_failed', path: 'scenes[1].characters[1].state' },
  { name: 'unknown location', body: { ...base(), scenes: base().scenes.map((s, i) => (i === 2 ? { ...s, location: 'Moon' } : s)) }, status: 422, error: 'validation_failed', path: 'scenes[2].location' },
  { name: 'duplicate character name', body: { ...base(), characters: [...base().characters, { name: 'aria ', appearance: 'another one' }] }, status: 422, error: 'validation_failed', path: 'characters[2].name' },
  { name: 'duplicate location name', body: { ...base(), locations: [...base().locations, { name: 'HARBOUR', description: 'again' }] }, status: 422, error: 'validation_failed', path: 'locations[1].name' },
  {
    name: 'duplicate state name',
    body: { ...base(), characters: [{ name: 'Aria', appearance: 'a tall cartographer', states: { winter: { appearance: 'a fur coat' }, Winter: { appearance: 'a parka' } } }, base().characters[1]] },
    status: 422,
    error: 'validation_failed',
    path: 'characters[0].states.Winter',
  },
  { name: 'the same character twice in a scene', body: { ...base(), scenes: [...base().scenes.slice(0, 3), { prompt: 'twins', characters: ['Bo', { name: 'Aria', state: 'winter' }, 'Aria'] }] }, status: 422, error: 'validation_failed', path: 'scenes[3].characters[2]' },
  { name: '11 characters', body: { ...base(), characters: Array.from({ length: 11 }, (_, i) => ({ name: `C${i}`, appearance: 'someone' })), scenes: [scene('a crowd')] }, status: 422, error: 'validation_failed', path: 'characters' },
  {
    name: '6 states',
    body: { ...base(), characters: [{ name: 'Aria', appearance: 'a tall cartographer', states: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`s${i}`, { appearance: 'x' }])) }], scenes: [scene('Aria alone')] },
    status: 422,
    error: 'validation_failed',
    path: 'characters[0].states',
  },
  { name: '0 scenes', body: { ...base(), scenes: [] }, status: 422, error: 'validation_failed', path: 'scenes' },
  { name: '51 scenes', body: { ...base(), scenes: Array.from({ length: 51 }, (_, i) => scene(`scene ${i}`)) }, status: 422, error: 'validation_failed', path: 'scenes' },
  // An aspect ratio outside the contract's list is malformed input (400), as on every other route.
  { name: 'bad aspect ratio in a scene', body: { ...base(), scenes: base().scenes.map((s, i) => (i === 2 ? { ...s, aspect_ratio: '7:3' } : s)) }, status: 400, error: 'bad_request', path: 'scenes[2].aspect_ratio' },
  // As for every input URL of the API: https only (or a signed URL of ours).
  { name: 'a plain http reference URL', body: { ...base(), locations: [{ name: 'Harbour', description: 'a busy harbour', reference_url: 'http://example.com/harbour.png' }] }, status: 400, error: 'bad_request', path: 'locations[0].reference_url' },
  {
    name: 'a "#" in a character name',
    body: { ...base(), characters: [...base().characters, { name: 'Aria#winter', appearance: 'a clash of keys' }] },
    status: 422,
    error: 'validation_failed',
    path: 'characters[2].name',
  },
  { name: 'an appearance rejected by moderation', body: { ...base(), characters: [base().characters[0], { name: 'Bo', appearance: 'a sailor covered in gore' }] }, status: 403, error: 'content_rejected', path: 'characters[1].appearance' },
  { name: 'a state appearance rejected by moderation', body: { ...base(), characters: [{ name: 'Aria', appearance: 'a tall cartographer', states: { winter: { appearance: 'a swastika armband' } } }, base().characters[1]] }, status: 403, error: 'content_rejected', path: 'characters[0].states.winter.appearance' },
  { name: 'a location description rejected by moderation', body: { ...base(), locations: [{ name: 'Harbour', description: 'a harbour after a massacre' }] }, status: 403, error: 'content_rejected', path: 'locations[0].description' },
  { name: 'a scene prompt refused on legal grounds', body: { ...base(), scenes: [scene('terrorist recruitment propaganda poster')] }, status: 451, error: 'content_rejected', path: 'scenes[0].prompt' },
  {
    // Each field passes alone in liberal strictness; the scene as the model would see it does not.
    name: 'words split between an appearance and a scene prompt',
    body: { ...base(), strictness: 'liberal', characters: [{ name: 'Aria', appearance: 'a schoolgirl with braids' }], scenes: [{ prompt: 'Aria in lingerie', characters: ['Aria'] }] },
    status: 451,
    error: 'content_rejected',
    path: 'scenes[0]',
  },
  { name: 'a term of the operator blocklist, even in liberal strictness', body: { ...base(), strictness: 'liberal', style: 'in the manner of Blockedartist' }, status: 403, error: 'content_rejected', path: 'style' },
];

describe('POST /v1/generate/story: validation before anything is charged', () => {
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-blocklist-'));
    fs.writeFileSync(path.join(dir, 'blocklist.txt'), '# operator terms\nblockedartist\n');
    srv = await EaselProcess.start({ env: { EASEL_MODERATION_BLOCKLIST: path.join(dir, 'blocklist.txt') } });
    key = await srv.createKey('story-validation', '1');
  });
  after(() => srv.stop());

  const snapshot = async () => {
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    const jobs = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body;
    return { balance: profile.balance_eur, held: profile.held_eur, jobs: jobs.total };
  };

  it('the unbroken storyboard is accepted (so each case below fails for its own reason only)', async () => {
    const dry = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key: await srv.createKey('story-validation-ok', '1'), body: base() });
    assert.equal(dry.status, 202, dry.text);
  });

  for (const c of CASES) {
    it(`${c.name} → ${c.status} ${c.error} at ${c.path}, nothing charged or queued`, async () => {
      const before = await snapshot();
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: c.body });
      assert.equal(res.status, c.status, res.text);
      assert.equal(res.body.error, c.error);
      assert.equal(typeof res.body.request_id, 'string');
      // A refusal on legal grounds keeps its fixed wording; its field is in the details.
      if (c.status !== 451) assert.ok(res.body.message.includes(c.path), `message names ${c.path}: ${res.body.message}`);
      const paths = c.error === 'content_rejected' ? [res.body.details.field] : res.body.details.fields.map((f: any) => f.path);
      assert.deepEqual(paths, [c.path], JSON.stringify(res.body.details));
      assert.deepEqual(await snapshot(), before);
    });
  }

  it('402 when the balance cannot cover portraits + scenes; nothing is queued', async () => {
    // 3 portraits + 4 scenes at EUR 0.02 = 0.14; this account has 0.10.
    const poor = await srv.createKey('story-poor', '0.1');
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key: poor, body: base() });
    assert.equal(res.status, 402, res.text);
    assert.equal(res.body.error, 'credit_insufficient');
    assert.equal(res.body.details.required_eur, '0.140000');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key: poor })).body.total, 0);
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: poor })).body.user;
    assert.deepEqual([profile.balance_eur, profile.held_eur], ['0.100000', '0.000000']);
  });

  it('422 model_not_found for an unknown model', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: { ...base(), model: 'no-such-model' } });
    assert.equal(res.status, 422);
    assert.equal(res.body.error, 'model_not_found');
  });
});
