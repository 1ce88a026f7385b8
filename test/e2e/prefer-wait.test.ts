import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { openApiValidator } from '../helpers/spec-shapes.js';

const STORY = {
  characters: [{ name: 'Ada', appearance: 'a tall engineer in a green coat' }],
  scenes: [{ prompt: 'Ada repairs a clock', characters: ['Ada'] }, { prompt: 'Ada walks home', characters: ['Ada'] }],
};

describe('Prefer: wait=N on creates', () => {
  let fast: EaselProcess;
  let slow: EaselProcess;
  let validateOpenApi: (name: string, v: unknown) => void;

  before(async () => {
    fast = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '50' } });
    // 3 images × 2.5 s: a story that cannot finish within a 1 s wait.
    slow = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '2500' } });
    validateOpenApi = openApiValidator((await api(fast.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(async () => {
    await fast.stop();
    await slow.stop();
  });

  it('a story that finishes within N seconds answers 200 with the finished job', async () => {
    const key = await fast.createKey('prefer-fast', '1');
    const r = await api(fast.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY, headers: { prefer: 'wait=30' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers.get('preference-applied'), 'wait=30');
    validateOpenApi('Job', r.body);
    assert.equal(r.body.status, 'completed');
    assert.equal(r.body.scenes_completed, 2);
    assert.equal(r.headers.get('x-easel-job-id'), r.body.job_id);
    assert.ok(r.body.result.scenes.length === 2);
  });

  it('a story still running after N seconds answers 202 as usual; N is capped at 60', async () => {
    const key = await slow.createKey('prefer-slow', '1');
    const r = await api(slow.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY, headers: { prefer: 'respond-async, wait=1' } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.get('preference-applied'), 'wait=1');
    assert.equal(r.body.poll_url, `/v1/generate/story/${r.body.job_id}`);
    const job = (await api(slow.baseUrl, 'GET', `/v1/jobs/${r.body.job_id}`, { key })).body;
    assert.notEqual(job.status, 'completed');

    // The cap is reported, not silently applied.
    const capped = await api(slow.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY, headers: { prefer: 'wait=0', 'idempotency-key': 'cap-check' } });
    assert.equal(capped.status, 202);
    assert.equal(capped.headers.get('preference-applied'), 'wait=0');
    const big = await api(slow.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY, headers: { prefer: 'wait=0' } });
    assert.equal(big.status, 202);
    await waitFor(async () => (await api(slow.baseUrl, 'GET', `/v1/jobs/${r.body.job_id}`, { key })).body.status === 'completed', 60_000, 200);
  });

  it('a synchronous image create with Prefer: wait=N answers 202 {job_id, poll_url} when N runs out, 200 when it does not', async () => {
    const key = await slow.createKey('prefer-image', '1');
    const r = await api(slow.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a slow sunrise' }, headers: { prefer: 'wait=1' } });
    assert.equal(r.status, 202, r.text);
    assert.equal(r.headers.get('preference-applied'), 'wait=1');
    validateOpenApi('JobAccepted', r.body);
    assert.equal(r.body.poll_url, `/v1/jobs/${r.body.job_id}`);
    assert.equal(r.headers.get('x-easel-job-id'), r.body.job_id);
    const done = await waitFor(async () => {
      const j = (await api(slow.baseUrl, 'GET', `/v1/jobs/${r.body.job_id}`, { key })).body;
      return j.status === 'completed' ? j : null;
    }, 30_000, 200);
    assert.ok(done.result.image_hash);

    const fastKey = await fast.createKey('prefer-image-fast', '1');
    const ok = await api(fast.baseUrl, 'POST', '/v1/generate/image', { key: fastKey, body: { prompt: 'a quick sunrise' }, headers: { prefer: 'wait=100' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('preference-applied'), 'wait=60');
    validateOpenApi('GenerationResponse', ok.body);
  });
});
