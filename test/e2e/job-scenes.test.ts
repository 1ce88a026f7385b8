import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';

/** 1 portrait + 4 scenes at EUR 0.02: a hold of EUR 0.10. Scene 2 meets a word blocked mid-run. */
const STORY = {
  model: 'easel-sketch',
  characters: [{ name: 'Vera', appearance: 'a balloonist in a green coat' }],
  scenes: [
    { prompt: 'Vera inflates the balloon', characters: ['Vera'] },
    { prompt: 'Vera rises over the town', characters: ['Vera'] },
    { prompt: 'A zeppelin passes Vera', characters: ['Vera'] },
    { prompt: 'Vera lands in a meadow', characters: ['Vera'] },
  ],
};

describe('per-scene detail and POST /v1/jobs/{id}/scenes/{n}/retry', () => {
  let srv: EaselProcess;
  let blocklist: string;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    blocklist = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-scenes-')), 'blocklist.txt');
    fs.writeFileSync(blocklist, '# nothing yet\n');
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '400', EASEL_MODERATION_BLOCKLIST: blocklist } });
    validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  const getJob = async (key: string, id: string) => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    assertSpecShape('job', r.body);
    validate('Job', r.body);
    return r.body;
  };
  const settled = (key: string, id: string, seen: any[] = []) =>
    waitFor(async () => {
      const j = await getJob(key, id);
      seen.push(j);
      return ['completed', 'failed', 'canceled'].includes(j.status) ? j : null;
    }, 60_000, 50);

  it('a failed scene is recorded with its error; retrying it and the skipped one, each charged once, completes the story', async () => {
    const key = await srv.createKey('scenes', '0.10');
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
    assert.equal(res.status, 202, res.text);
    const id = res.body.job_id;
    fs.writeFileSync(blocklist, 'zeppelin\n');

    const seen: any[] = [];
    const failed = await settled(key, id, seen);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    // While it ran, the scene being generated said so.
    assert.ok(seen.some((j) => j.scenes?.some((s: any) => s.status === 'processing')), 'a scene was seen processing');
    assert.deepEqual(failed.scenes.map((s: any) => s.status), ['completed', 'completed', 'failed', 'skipped']);
    assert.equal(failed.scenes[2].error.code, 'content_rejected');
    assert.match(failed.scenes[2].error.message, /Scene 3 of 4/);
    assert.deepEqual(failed.scenes.map((s: any) => s.cost_eur), ['0.020000', '0.020000', undefined, undefined]);
    assert.deepEqual(failed.cost, { held_eur: '0.000000', charged_eur: '0.060000', refunded_eur: '0.040000' });

    // Refusals: a completed scene, a scene that does not exist, and (below) a balance that cannot pay.
    const done = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/0/retry`, { key });
    assert.equal(done.status, 409);
    assert.equal(done.body.error, 'scene_not_retryable');
    assert.equal((await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/9/retry`, { key })).status, 404);
    const other = await srv.createKey('scenes-other', '1');
    assert.equal((await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/2/retry`, { key: other })).status, 404);
    // Spend the refunded EUR 0.04 so a retry cannot be paid.
    for (const p of ['a', 'b']) assert.equal((await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `balloon ${p}` } })).status, 200);
    const broke = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/2/retry`, { key });
    assert.equal(broke.status, 402, broke.text);
    assert.equal(broke.body.error, 'credit_insufficient');
    assert.equal((await getJob(key, id)).status, 'failed', 'a refused retry changes nothing');
    assert.equal((await srv.cli(['credits', 'grant', '--key-name', 'scenes', '--eur', '0.05'])).code, 0);

    // The operator lifts the block; scene 2 is retried alone: the story still misses scene 3.
    fs.writeFileSync(blocklist, '# lifted\n');
    const retry = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/2/retry`, { key });
    assert.equal(retry.status, 202, retry.text);
    validate('Job', retry.body);
    assert.equal(retry.body.status, 'processing');
    assert.equal(retry.body.cost.held_eur, '0.020000');
    const partial = await settled(key, id);
    assert.equal(partial.status, 'failed');
    assert.equal(partial.error.code, 'scenes_incomplete');
    assert.deepEqual(partial.scenes.map((s: any) => s.status), ['completed', 'completed', 'completed', 'skipped']);
    assert.equal(partial.scenes_completed, 3);

    const last = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/3/retry`, { key });
    assert.equal(last.status, 202, last.text);
    const complete = await settled(key, id);
    assert.equal(complete.status, 'completed', JSON.stringify(complete));
    assert.equal(complete.error, undefined);
    assert.equal(complete.scenes_completed, 4);
    assert.equal(complete.result.scenes.length, 4);
    for (const s of complete.result.scenes) assert.equal((await download(s.images.png)).status, 200);
    assert.equal(complete.result.cost_eur, '0.100000', '1 portrait + 4 scenes, each charged once');
    assert.deepEqual(complete.cost, { held_eur: '0.000000', charged_eur: '0.100000', refunded_eur: '0.040000' });

    const again = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/scenes/3/retry`, { key });
    assert.equal(again.status, 409, 'a completed story has nothing to retry');
    const audit = await auditLedger(srv, 'scenes');
    assert.equal(audit.captures, 100_000 + 40_000);
    assert.equal(audit.held, 0);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });
});
