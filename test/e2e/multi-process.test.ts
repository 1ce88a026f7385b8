import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EaselProcess, MODE, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

/**
 * Several API and worker processes on one store: PostgreSQL + pg-boss + S3 in scale-out mode,
 * one SQLite file and one data directory in embedded mode (which also supports it).
 */
describe(`multiple processes on one store (${MODE})`, () => {
  it('2 API + 2 worker processes: 20 image jobs and 3 stories through both APIs complete; a worker SIGKILLed mid-story loses nothing', async () => {
    const env = { EASEL_SKETCH_LATENCY_MS: '400', EASEL_LEASE_MS: '1500', EASEL_MAX_CONCURRENT_JOBS: '100', EASEL_WORKER_CONCURRENCY: '2' };
    const api1 = await EaselProcess.start({ env, args: ['--no-worker'] });
    const procs: EaselProcess[] = [api1];
    try {
      const api2 = await EaselProcess.start({ env, args: ['--no-worker'], sharedWith: api1 });
      const w1 = await EaselProcess.start({ env, command: 'worker', sharedWith: api1 });
      const w2 = await EaselProcess.start({ env, command: 'worker', sharedWith: api1 });
      procs.push(api2, w1, w2);
      const key = await api1.createKey('multi', '10');
      const apis = [api1, api2];
      const requests = Array.from({ length: 20 }, (_, i) =>
        api(apis[i % 2]!.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `multi process job ${i}` } }).catch(() => null),
      );
      const stories: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await api(apis[(i + 1) % 2]!.baseUrl, 'POST', '/v1/generate/story', {
          key,
          body: {
            model: 'easel-sketch',
            characters: [{ name: 'Noor', appearance: `a painter with a hat number ${i}` }],
            scenes: Array.from({ length: 4 }, (_, n) => ({ prompt: `story ${i} scene ${n}: Noor paints`, characters: ['Noor'] })),
          },
        });
        assert.equal(res.status, 202, res.text);
        stories.push(res.body.job_id);
      }
      // Kill one worker mid-story (a story has finished some scenes but not all), while image jobs are still queued.
      await waitFor(async () => {
        for (const id of stories) {
          const j = (await api(api2.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
          if (j.scenes_completed > 0 && j.scenes_completed < j.scenes_total) return true;
        }
        return false;
      }, 60_000, 50);
      await w1.kill('SIGKILL');
      const results = await Promise.all(requests);
      assert.ok(results.every((r) => r && r.status === 200), results.map((r) => r?.status).join(','));
      const list = await waitFor(async () => {
        const l = (await api(api1.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body;
        return l.total === 23 && l.generations.every((g: any) => g.status === 'completed') ? l : null;
      }, 60_000, 100);
      // Every result downloads through URLs minted by either API process.
      let storyCharges = 0;
      for (const [i, g] of list.generations.entries()) {
        const view = (await api(apis[i % 2]!.baseUrl, 'GET', `/v1/jobs/${g.job_id}`, { key })).body;
        if (stories.includes(g.job_id)) {
          assert.equal(view.scenes_completed, 4);
          assert.equal(view.result.scenes.length, 4);
          for (const scene of view.result.scenes) assert.equal((await download(scene.images.png)).status, 200);
          storyCharges += Math.round(Number(view.result.cost_eur) * 1e6);
          continue;
        }
        const png = await download(view.result.formats.png.url);
        assert.equal(png.status, 200);
        assert.equal((await sharp(png.bytes).metadata()).format, 'png');
      }
      const audit = await auditLedger(api1, 'multi');
      assert.ok(storyCharges > 0, 'each story reports what it cost');
      assert.equal(audit.captures, 20 * 20_000 + storyCharges);
      assert.equal(audit.available, 10_000_000 - 20 * 20_000 - storyCharges);
      assert.equal(audit.held, 0);
      assert.equal(audit.ledgerAvailable, audit.available);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });

  it('progress written by a worker is visible through any API process at once', async () => {
    const env = { EASEL_SKETCH_LATENCY_MS: '1200', EASEL_MAX_CONCURRENT_JOBS: '100' };
    const api1 = await EaselProcess.start({ env, args: ['--no-worker'] });
    const procs: EaselProcess[] = [api1];
    try {
      const api2 = await EaselProcess.start({ env, args: ['--no-worker'], sharedWith: api1 });
      const w = await EaselProcess.start({ env, command: 'worker', sharedWith: api1 });
      procs.push(api2, w);
      const key = await api1.createKey('visible', '1');
      const pending = api(api1.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'seen everywhere' } });
      const id = await waitFor(async () => (await api(api2.baseUrl, 'GET', '/v1/jobs', { key })).body.generations[0]?.job_id);
      const seenBy2 = await waitFor(async () => {
        const j = (await api(api2.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
        return j.status === 'processing' ? j : null;
      }, 10_000, 20);
      assert.ok(seenBy2.started_at);
      const res = await pending;
      assert.equal(res.status, 200, 'the API that accepted the job answered once a worker elsewhere finished it');
      const done = (await api(api2.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
      assert.equal(done.status, 'completed');
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });

  it('100 racing submits across 2 API processes against a balance for 25: exactly 25 succeed', async () => {
    const env = { EASEL_MAX_CONCURRENT_JOBS: '200', EASEL_SKETCH_PRICE_EUR: '0.040000', EASEL_WORKER_CONCURRENCY: '4' };
    const a = await EaselProcess.start({ env });
    const procs: EaselProcess[] = [a];
    try {
      const b = await EaselProcess.start({ env, sharedWith: a });
      procs.push(b);
      const key = await a.createKey('race-multi', '1.000000');
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => api((i % 2 ? b : a).baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `race ${i}` } })),
      );
      const codes = results.map((r) => r.status);
      assert.equal(codes.filter((c) => c === 200).length, 25, codes.join(','));
      assert.equal(codes.filter((c) => c === 402).length, 75);
      const profile = (await api(b.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
      assert.equal(profile.balance_eur, '0.000000');
      assert.equal(profile.held_eur, '0.000000');
      const audit = await auditLedger(a, 'race-multi');
      assert.equal(audit.captures, 1_000_000);
      assert.equal(audit.ledgerAvailable, 0);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
    } finally {
      for (const p of procs.reverse()) await p.stop();
    }
  });
});
