import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { captures, pollStory } from '../helpers/story.js';
import { openApiValidator } from '../helpers/spec-shapes.js';

/** 2 characters, 1 state: 3 portraits; 6 scenes, the 4th of which will meet a newly blocked word. */
const STORY = {
  model: 'easel-sketch',
  characters: [
    { name: 'Mira', appearance: 'a pilot with a leather cap', states: { storm: { appearance: 'a soaked oilskin coat' } } },
    { name: 'Tal', appearance: 'a mechanic with oily gloves' },
  ],
  scenes: [
    { prompt: 'Mira and Tal repair the engine', characters: ['Mira', 'Tal'] },
    { prompt: 'Mira takes off at sunrise', characters: ['Mira'] },
    { prompt: 'Mira flies into the storm', characters: [{ name: 'Mira', state: 'storm' }] },
    { prompt: 'A zeppelin looms out of the clouds', characters: [{ name: 'Mira', state: 'storm' }] },
    { prompt: 'Tal waits at the airfield', characters: ['Tal'] },
    { prompt: 'Mira lands safely', characters: ['Mira', 'Tal'] },
  ],
};

describe('story failures', () => {
  let srv: EaselProcess;
  let blocklist: string;

  before(async () => {
    blocklist = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-blocklist-')), 'blocklist.txt');
    fs.writeFileSync(blocklist, '# nothing blocked yet\n');
    // 400 ms per image: portraits and three scenes take well over a second, time enough to change the rules.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '400', EASEL_MODERATION_BLOCKLIST: blocklist, EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
  });
  after(() => srv.stop());

  it('scene 4 of 6 rejected by run-time moderation: the story fails there, scenes 1–3 stay retrievable and charged, the rest is refunded', async () => {
    const key = await srv.createKey('story-fail', '1');
    const validateOpenApi = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(res.status, 202, res.text);
    // The operator blocks a word while the story is already running.
    fs.writeFileSync(blocklist, '# added while a story runs\nZeppelin\n');

    const { job, seen } = await pollStory(srv, key, res.body.job_id, { stepMs: 50 });
    assert.equal(job.status, 'failed', JSON.stringify(job));
    validateOpenApi('Job', job);
    assert.equal(job.error.code, 'content_rejected');
    assert.match(job.error.message, /Scene 4 of 6/);
    assert.match(job.error.message, /operator_blocklist/);
    assert.equal(job.scenes_completed, 3);
    assert.ok(seen.every((j) => j.result === undefined));

    assert.deepEqual(job.scenes.map((s: any) => s.status), ['completed', 'completed', 'completed', 'failed', 'skipped', 'skipped']);
    assert.deepEqual(job.scenes.map((s: any) => s.index), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(job.scenes[3].error, job.error);
    for (const s of job.scenes.slice(0, 3)) {
      for (const fmt of ['png', 'jpeg', 'webp']) {
        const dl = await download(s.images[fmt]);
        assert.equal(dl.status, 200);
        assert.equal((await sharp(dl.bytes).metadata()).format, fmt);
      }
    }
    const listed = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.generations[0];
    assert.deepEqual(listed.scenes.map((s: any) => s.status), job.scenes.map((s: any) => s.status));

    // 3 portraits + 3 scenes charged (EUR 0.02 each), the other 3 scenes' hold returned.
    const rows = await captures(srv, 'story-fail');
    assert.deepEqual(rows.map((r) => r.note).sort(), ['step portrait-0', 'step portrait-1', 'step portrait-2', 'step scene-0', 'step scene-1', 'step scene-2']);
    const audit = await auditLedger(srv, 'story-fail');
    assert.equal(audit.captures, 6 * 20_000);
    assert.equal(audit.held, 0);
    assert.equal(audit.available, 1_000_000 - 6 * 20_000);
    assert.equal(audit.ledgerAvailable, audit.available);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.deepEqual([profile.balance_eur, profile.held_eur], ['0.880000', '0.000000']);

    // The same rule now refuses a new story at the door, before any hold.
    const again = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(again.status, 403);
    assert.equal(again.body.details.category, 'operator_blocklist');
    assert.equal(again.body.details.field, 'scenes[3].prompt');
  });

  it('provider hiccups (retryable 503s) are retried and do not fail the story; nothing is generated or charged twice', async () => {
    const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-story-calls-')), 'calls.jsonl');
    // The first four renderer calls of the process fail: all three portraits of the first attempt and
    // one of the second, so the story needs three attempts.
    const flaky = await EaselProcess.start({ env: { EASEL_SKETCH_FAILURES: '4', EASEL_RETRY_BASE_MS: '50', EASEL_PROVIDER_CALL_LOG: callLog, EASEL_WORKER_CONCURRENCY: '1' } });
    try {
      const key = await flaky.createKey('story-flaky', '1');
      const body = { ...STORY, scenes: STORY.scenes.filter((s) => !s.prompt.includes('zeppelin')) };
      const res = await api(flaky.baseUrl, 'POST', '/v1/generate/story', { key, body });
      assert.equal(res.status, 202, res.text);
      const { job } = await pollStory(flaky, key, res.body.job_id, { stepMs: 50 });
      assert.equal(job.status, 'completed', JSON.stringify(job));
      assert.equal(job.result.cost_eur, '0.160000', '3 portraits + 5 scenes, each once');
      const calls = fs.readFileSync(callLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l).prompt as string);
      // Failed calls are repeated; successful ones never are.
      assert.equal(calls.length, 8 + 4);
      assert.equal(new Set(calls).size, 8);
      const audit = await auditLedger(flaky, 'story-flaky');
      assert.equal(audit.captures, 8 * 20_000);
      assert.equal(audit.held, 0);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    } finally {
      await flaky.stop();
    }
  });

  it('a dead client reference ends the story as reference_unavailable before anything is generated or charged', async () => {
    const dead = http.createServer((_req, res) => res.writeHead(404).end('gone'));
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    try {
      const key = await srv.createKey('story-deadref', '1');
      const url = `http://127.0.0.1:${(dead.address() as { port: number }).port}/mira.png`;
      const body = { ...STORY, characters: [{ ...STORY.characters[0], reference_url: url }, STORY.characters[1]], scenes: STORY.scenes.slice(0, 2) };
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body });
      assert.equal(res.status, 202, res.text);
      const { job } = await pollStory(srv, key, res.body.job_id, { stepMs: 50 });
      assert.equal(job.status, 'failed');
      assert.equal(job.error.code, 'reference_unavailable');
      assert.match(job.error.message, /characters\[0\]\.reference_url/);
      assert.deepEqual(job.scenes.map((s: any) => s.status), ['skipped', 'skipped']);
      const audit = await auditLedger(srv, 'story-deadref');
      assert.equal(audit.captures, 0);
      assert.equal(audit.held, 0);
      assert.equal(audit.available, 1_000_000);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
    } finally {
      dead.close();
    }
  });
});
