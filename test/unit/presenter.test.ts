import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openCore, type Core } from '../helpers/core.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { MODE } from '../helpers/server.js';
import { Presenter } from '../../src/views/present.js';
import { EtaEstimator } from '../../src/jobs/eta.js';
import type { ResultUrls } from '../../src/jobs/result-urls.js';
import type { StoredImage } from '../../src/jobs/types.js';

/** Signs a key as `https://files.test/key?exp=…`, so the test sees which stored key each URL names. */
const urls: ResultUrls = {
  async formats(image, now = Date.now()) {
    const out: Record<string, { url: string; format: string; size_bytes: number; hash: string; expires_at: string }> = {};
    for (const [fmt, f] of Object.entries(image.formats)) out[fmt] = { url: `https://files.test/${f.key}?exp=${now + 1000}`, format: fmt, size_bytes: f.size_bytes, hash: f.hash, expires_at: new Date(now + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
    return out;
  },
  async signedUrl(key, now = Date.now()) {
    return { url: `https://files.test/${key}?exp=${now + 1000}`, expires_at: new Date(now + 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  },
};

const image = (key: string): StoredImage => ({
  formats: { png: { key: `${key}.png`, mime: 'image/png', size_bytes: 10, hash: 'a'.repeat(64) }, jpeg: { key: `${key}.jpg`, mime: 'image/jpeg', size_bytes: 9, hash: 'b'.repeat(64) }, webp: { key: `${key}.webp`, mime: 'image/webp', size_bytes: 8, hash: 'c'.repeat(64) } },
  image_hash: 'a'.repeat(64),
  width: 64,
  height: 64,
});

/**
 * The job view, in-process, from a real store: the one Presenter (built as src/app.ts builds it)
 * renders every field a client reads, in every state — the same object in an API and a worker.
 */
describe(`the job view (${MODE})`, () => {
  let core: Core;
  let presenter: Presenter;
  before(async () => {
    core = await openCore();
    presenter = new Presenter({ urls, storySteps: (id) => core.jobs.allSteps(id), eta: new EtaEstimator(core.db, 2, core.queue) });
  });
  after(async () => {
    await core.close();
  });

  it('pending → processing → completed: the seed fields, then the money, metadata, queue and retention fields, then the result', async () => {
    const acc = await core.account('view-image');
    const job = await core.jobs.submit({ accountId: acc, keyId: null, operation: 'image', model: 'easel-sketch', request: { prompt: 'p' }, holdMicros: 20_000, scenesTotal: 1, options: { metadata: { order: '42' } } });
    const pending = await presenter.job((await core.jobs.get(job.id))!);
    assertSpecShape('job', pending);
    assert.equal(pending.status, 'pending');
    assert.equal(pending.queue_position, 1);
    assert.deepEqual(pending.cost, { held_eur: '0.020000', charged_eur: '0.000000', refunded_eur: '0.000000' });
    assert.deepEqual(pending.metadata, { order: '42' });
    assert.equal('started_at' in pending || 'result' in pending || 'error' in pending, false);

    const t = await core.claimJob(job.id);
    const fence = { jobId: job.id, token: t.token };
    await core.jobs.start(fence);
    const running = await presenter.job((await core.jobs.get(job.id))!);
    assert.equal(running.status, 'processing');
    assert.ok(typeof running.started_at === 'string' && 'estimated_completed_at' in running, JSON.stringify(running));
    assert.equal('queue_position' in running, false);

    await core.jobs.complete(fence, 20_000, (balance, charged) => ({ kind: 'image', model: 'easel-sketch', image: image(`jobs/${job.id}/run-1/image`), cost_micros: charged, balance_after_micros: balance }));
    const done = await presenter.job((await core.jobs.get(job.id))!);
    assertSpecShape('job', done);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.cost, { held_eur: '0.000000', charged_eur: '0.020000', refunded_eur: '0.000000' });
    assert.ok(typeof done.result_expires_at === 'string', 'retention is shown once the job ended');
    const result = done.result as { formats: Record<string, { url: string }>; cost_eur: string; balance_eur: string };
    assert.equal(result.formats.png!.url.split('?')[0], `https://files.test/jobs/${job.id}/run-1/image.png`);
    assert.equal(result.cost_eur, '0.020000');
    assert.equal(result.balance_eur, '0.980000');
  });

  it('a story shows its scenes while it runs and after it failed: finished ones with images, the failed one with its error, the rest skipped', async () => {
    const acc = await core.account('view-story');
    const plan = {
      slots: [],
      locations: [],
      scenes: [0, 1, 2].map((index) => ({ index, prompt: `scene ${index}`, text: `scene ${index}`, figures: [], width: 64, height: 64, path: `scenes[${index}]` })),
      portrait: { width: 64, height: 64 },
      billableSteps: 3,
    };
    const job = await core.jobs.submit({ accountId: acc, keyId: null, operation: 'story', model: 'easel-sketch', request: { scenes: [{}, {}, {}] }, holdMicros: 60_000, scenesTotal: 3, plan });
    const t = await core.claimJob(job.id);
    const fence = { jobId: job.id, token: t.token };
    await core.jobs.start(fence);
    await core.jobs.recordStep(fence, { step: 'scene-0', ordinal: 1000, output: { kind: 'scene', index: 0, image: image(`jobs/${job.id}/story/run-1/scene-0`) }, costMicros: 20_000, countsAsScene: true });
    const running = await presenter.job((await core.jobs.get(job.id))!);
    assert.deepEqual((running.scenes as { status: string }[]).map((s) => s.status), ['completed', 'processing', 'pending']);
    await core.jobs.recordFailedScene(fence, { step: 'scene-1', ordinal: 1001, index: 1 }, { code: 'content_rejected', message: 'refused' });
    await core.jobs.fail(fence, 'content_rejected', 'Scene 2 was refused.');
    const failed = await presenter.job((await core.jobs.get(job.id))!);
    assertSpecShape('job', failed);
    const scenes = failed.scenes as { status: string; images?: { png: string }; formats?: { png: { url: string; hash: string } }; error?: { code: string } }[];
    assert.deepEqual(scenes.map((s) => s.status), ['completed', 'failed', 'skipped']);
    // The seed's stories guide reads images.png as the URL; formats carries each file's detail beside it.
    assert.equal(scenes[0]!.images!.png.split('?')[0], `https://files.test/jobs/${job.id}/story/run-1/scene-0.png`);
    assert.equal(scenes[0]!.formats!.png.url, scenes[0]!.images!.png);
    assert.equal(scenes[0]!.formats!.png.hash, 'a'.repeat(64));
    assert.equal(scenes[1]!.error!.code, 'content_rejected');
    assert.deepEqual(failed.error, { code: 'content_rejected', message: 'Scene 2 was refused.' });
    assert.deepEqual(failed.cost, { held_eur: '0.000000', charged_eur: '0.020000', refunded_eur: '0.040000' });
  });
});
