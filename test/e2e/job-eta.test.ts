import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';

const story = (tag: string) => ({
  model: 'easel-sketch',
  characters: [{ name: 'Ilse', appearance: `a cartographer with ${tag} ink` }],
  scenes: [{ prompt: `Ilse maps the coast (${tag})`, characters: ['Ilse'] }, { prompt: `Ilse maps the hills (${tag})`, characters: ['Ilse'] }],
});

describe('queue_position and ETA', () => {
  let srv: EaselProcess;
  let key: string;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    // One worker slot: jobs queue behind each other.
    srv = await EaselProcess.start({ env: { EASEL_WORKER_CONCURRENCY: '1', EASEL_SKETCH_LATENCY_MS: '600' } });
    key = await srv.createKey('eta', '5');
    validate = openApiValidator((await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body);
  });
  after(() => srv.stop());

  const getJob = async (id: string) => {
    const r = await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key });
    assert.equal(r.status, 200, r.text);
    assertSpecShape('job', r.body);
    validate('Job', r.body);
    return r.body;
  };
  /** Submits a story and then two images behind it; returns their ids once all three are queued. */
  async function queueThree(tag: string) {
    const s = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story(tag) });
    assert.equal(s.status, 202, s.text);
    await waitFor(async () => (await getJob(s.body.job_id)).status === 'processing');
    const first = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `first ${tag}` } });
    await waitFor(async () => (await api(srv.baseUrl, 'GET', '/v1/jobs?status=pending&operation=image', { key })).body.total === 1);
    const second = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `second ${tag}` } });
    const pending = await waitFor(async () => {
      const l = (await api(srv.baseUrl, 'GET', '/v1/jobs?status=pending&operation=image', { key })).body;
      return l.total === 2 ? l.generations : null;
    });
    // Newest first: [second, first].
    return { story: s.body.job_id as string, first: pending[1].job_id as string, second: pending[0].job_id as string, done: Promise.all([first, second]) };
  }

  it('without history the position is known and the times are null; with history every estimate is given, in queue order', async () => {
    const cold = await queueThree('cold');
    const [s0, a0, b0] = [await getJob(cold.story), await getJob(cold.first), await getJob(cold.second)];
    assert.equal(s0.status, 'processing');
    assert.equal(s0.queue_position, undefined);
    assert.equal(s0.estimated_completed_at, null, 'no story has completed yet: unknown, not invented');
    assert.equal(a0.queue_position, 1);
    assert.equal(b0.queue_position, 2);
    assert.equal(a0.estimated_start_at, null);
    assert.equal(b0.estimated_completed_at, null);
    const answers = await cold.done;
    assert.deepEqual(answers.map((r) => r.status), [200, 200]);
    await waitFor(async () => (await getJob(cold.story)).status === 'completed', 30_000, 100);

    // Now one story and two images have completed: durations are measured.
    const warm = await queueThree('warm');
    const [s1, a1, b1] = [await getJob(warm.story), await getJob(warm.first), await getJob(warm.second)];
    if (s1.status === 'processing') {
      assert.ok(s1.estimated_completed_at, JSON.stringify(s1));
      assert.ok(Date.parse(s1.estimated_completed_at) >= Date.parse(s1.started_at));
    }
    if (a1.status === 'pending' && b1.status === 'pending') {
      assert.equal(a1.queue_position, 1);
      assert.equal(b1.queue_position, 2);
      // The list estimates a page's waiting jobs together: the same places and times as each job's own view.
      const page = (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=10&status=pending', { key })).body.generations as Record<string, unknown>[];
      const [la, lb] = [page.find((g) => g.job_id === warm.first), page.find((g) => g.job_id === warm.second)];
      const [a2, b2] = [await getJob(warm.first), await getJob(warm.second)];
      if (a2.status === 'pending' && b2.status === 'pending' && la && lb) {
        assert.equal(la.queue_position, 1);
        assert.equal(lb.queue_position, 2);
        assert.ok(la.estimated_start_at && lb.estimated_completed_at, JSON.stringify(page));
      }
      for (const j of [a1, b1]) {
        assert.ok(j.estimated_start_at && j.estimated_completed_at, JSON.stringify(j));
        assert.ok(Date.parse(j.estimated_completed_at) >= Date.parse(j.estimated_start_at));
      }
      assert.ok(Date.parse(b1.estimated_start_at) >= Date.parse(a1.estimated_start_at), 'the second in line starts no earlier than the first');
    }
    await warm.done;
    // Ended jobs carry no queue fields.
    const ended = await getJob(warm.first);
    assert.equal(ended.status, 'completed');
    for (const f of ['queue_position', 'estimated_start_at', 'estimated_completed_at']) assert.equal(ended[f], undefined);
  });
});
