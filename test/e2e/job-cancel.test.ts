import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { readEvents } from '../helpers/sse-client.js';
import { assertSpecShape, openApiValidator } from '../helpers/spec-shapes.js';

/** One character (one portrait) and `n` scenes: EUR 0.02 per image with the sketch model. */
const story = (n: number, tag: string) => ({
  model: 'easel-sketch',
  characters: [{ name: 'Ona', appearance: `a lighthouse keeper with a ${tag} scarf` }],
  scenes: Array.from({ length: n }, (_, i) => ({ prompt: `Ona at the lamp, hour ${i + 1} (${tag})`, characters: ['Ona'] })),
});

describe('POST /v1/jobs/{id}/cancel', () => {
  let srv: EaselProcess;
  let validate: (name: string, v: unknown) => void;

  before(async () => {
    // One slow worker slot: a second job waits (pending) while the first runs.
    srv = await EaselProcess.start({ env: { EASEL_WORKER_CONCURRENCY: '1', EASEL_SKETCH_LATENCY_MS: '700' } });
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
  // Polls the way a client of the Depicta docs does: until completed or failed. A cancel ends there too.
  const settle = (key: string, id: string) => waitFor(async () => {
    const j = await getJob(key, id);
    return ['completed', 'failed'].includes(j.status) ? j : null;
  }, 60_000, 100);
  /** A canceled job wears the seed's terminal status; Easel's fields tell it apart. */
  const assertCanceled = (j: any) => {
    assert.equal(j.status, 'failed', JSON.stringify(j));
    assert.deepEqual(j.error, { code: 'canceled', message: 'Canceled by request.' });
    assert.equal(j.canceled, true);
    assert.ok(j.completed_at);
    assert.equal(j.canceled_at, j.completed_at);
  };

  it('a pending job is canceled at once: whole hold returned, never run; a second cancel is 409 with its state; another account gets 404', async () => {
    const key = await srv.createKey('cancel-pending', '1');
    const other = await srv.createKey('cancel-pending-other', '1');
    const running = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story(2, 'red') });
    const waiting = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story(2, 'blue') });
    assert.equal(waiting.status, 202, waiting.text);
    const id = waiting.body.job_id;
    const pending = await getJob(key, id);
    assert.equal(pending.status, 'pending');
    assert.deepEqual(pending.cost, { held_eur: '0.060000', charged_eur: '0.000000', refunded_eur: '0.000000' });

    assert.equal((await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key: other })).status, 404);
    const res = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key });
    assert.equal(res.status, 200, res.text);
    validate('Job', res.body);
    assertCanceled(res.body);
    assert.deepEqual(res.body.cost, { held_eur: '0.000000', charged_eur: '0.000000', refunded_eur: '0.060000' });
    assert.deepEqual(res.body.scenes.map((s: any) => s.status), ['canceled', 'canceled']);

    const again = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'conflict');
    assert.equal(again.body.details.status, 'failed');
    assert.equal(again.body.details.canceled, true);

    // The first story still completes; the canceled one was never started.
    assert.equal((await settle(key, running.body.job_id)).status, 'completed');
    const after = await getJob(key, id);
    assertCanceled(after);
    assert.equal(after.started_at, undefined, 'a job canceled while pending never started');
    const audit = await auditLedger(srv, 'cancel-pending');
    assert.equal(audit.held, 0);
    assert.equal(audit.captures, 3 * 20_000, 'only the first story was charged');
    assert.equal(audit.available, 1_000_000 - 3 * 20_000);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
    const listed = await api(srv.baseUrl, 'GET', '/v1/jobs?status=canceled', { key });
    assert.deepEqual(listed.body.generations.map((g: any) => g.job_id), [id]);
    // The list filters by what it shows: `failed` includes the cancel, `completed` the other story.
    const failed = await api(srv.baseUrl, 'GET', '/v1/jobs?status=failed', { key });
    assert.deepEqual(failed.body.generations.map((g: any) => [g.job_id, g.status, g.canceled]), [[id, 'failed', true]]);
    const completed = await api(srv.baseUrl, 'GET', '/v1/jobs?status=completed', { key });
    assert.deepEqual(completed.body.generations.map((g: any) => g.job_id), [running.body.job_id]);
    // The event stream ends with Easel's job.canceled, whose job view is the same seed-status view.
    const stream = await readEvents(srv.baseUrl, `/v1/jobs/${id}/events`, key);
    const last = stream.events.at(-1)!;
    assert.equal(last.event, 'job.canceled');
    assertCanceled(JSON.parse(last.data).data.job);
  });

  it('a running story finishes the scene in flight, keeps and charges finished scenes, refunds the rest and ends canceled', async () => {
    const key = await srv.createKey('cancel-story', '1');
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: story(6, 'green') });
    assert.equal(res.status, 202, res.text);
    const id = res.body.job_id;
    await waitFor(async () => (await getJob(key, id)).scenes_completed >= 1, 30_000, 50);
    const cancel = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key });
    assert.ok(cancel.status === 202 || cancel.status === 200, cancel.text);
    validate('Job', cancel.body);
    if (cancel.status === 202) {
      assert.equal(cancel.body.status, 'processing');
      assert.ok(cancel.body.cancel_requested_at);
    }
    const job = await settle(key, id);
    assertCanceled(job);
    assert.equal(job.result, undefined);
    assert.ok(job.scenes_completed >= 1 && job.scenes_completed < 6, `scenes_completed ${job.scenes_completed}`);
    const done = job.scenes.filter((s: any) => s.status === 'completed');
    assert.equal(done.length, job.scenes_completed);
    assert.ok(job.scenes.slice(done.length).every((s: any) => s.status === 'canceled'), JSON.stringify(job.scenes));
    for (const s of done) {
      assert.equal(s.cost_eur, '0.020000');
      assert.equal((await download(s.images.png)).status, 200);
    }
    // 1 portrait + the finished scenes charged, the rest of the 7-image hold returned.
    const charged = (1 + job.scenes_completed) * 20_000;
    assert.equal(job.cost.charged_eur, (charged / 1e6).toFixed(6));
    assert.equal(job.cost.refunded_eur, ((140_000 - charged) / 1e6).toFixed(6));
    assert.equal(job.cost.held_eur, '0.000000');
    const audit = await auditLedger(srv, 'cancel-story');
    assert.equal(audit.captures, charged);
    assert.equal(audit.held, 0);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
    // It stays canceled: nothing picks it up again.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await getJob(key, id);
    assertCanceled(later);
    assert.equal(later.scenes_completed, job.scenes_completed);
  });

  it('a running single image is discarded uncharged when its provider call returns; the waiting request answers 409', async () => {
    const key = await srv.createKey('cancel-image', '1');
    const sync = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse in fog, to be canceled' } });
    const id = await waitFor(async () => {
      const r = await api(srv.baseUrl, 'GET', '/v1/jobs?status=processing', { key });
      return r.body.generations[0]?.job_id as string | undefined;
    }, 30_000, 25);
    const cancel = await api(srv.baseUrl, 'POST', `/v1/jobs/${id}/cancel`, { key });
    assert.ok(cancel.status === 202 || cancel.status === 409, cancel.text);
    const answer = await sync;
    const job = await settle(key, id);
    if (cancel.status === 409) {
      // The image finished between the list and the cancel: nothing to cancel, the image is delivered.
      assert.equal(job.status, 'completed');
      return;
    }
    assert.equal(answer.status, 409, answer.text);
    assert.equal(answer.body.details.job_id, id);
    assertCanceled(job);
    assert.deepEqual(job.cost, { held_eur: '0.000000', charged_eur: '0.000000', refunded_eur: '0.020000' });
    const audit = await auditLedger(srv, 'cancel-image');
    assert.equal(audit.captures, 0);
    assert.equal(audit.available, 1_000_000);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
  });
});
