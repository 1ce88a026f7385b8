import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

describe('worker: retries, timeouts and shutdown', () => {
  it('a provider hiccup is retried with backoff and the job still completes, charged once', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_FAILURES: '2', EASEL_RETRY_BASE_MS: '100' } });
    try {
      const key = await srv.createKey('retry-ok', '1');
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a stubborn mule' } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.cost_eur, '0.020000');
      const retries = srv.logs.filter((l) => l.includes('retrying') && l.includes(res.body.id));
      assert.equal(retries.length, 2, 'two failed attempts were retried');
      const audit = await auditLedger(srv, 'retry-ok');
      assert.equal(audit.captures, 20_000);
      assert.equal(audit.held, 0);
    } finally {
      await srv.stop();
    }
  });

  it('a persistent vendor failure ends the job failed after bounded attempts: 502 upstream_error, nothing charged', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_FAILURES: '1000', EASEL_MAX_ATTEMPTS: '3', EASEL_RETRY_BASE_MS: '50' } });
    try {
      const key = await srv.createKey('retry-fail', '1');
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a doomed request' } });
      assert.equal(res.status, 502);
      assert.equal(res.body.error, 'upstream_error');
      const jobId = res.headers.get('x-easel-job-id')!;
      assert.equal(res.body.details.job_id, jobId);
      const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${jobId}`, { key })).body;
      assert.equal(job.status, 'failed');
      assert.equal(job.error.code, 'upstream_error');
      assert.ok(job.completed_at);
      assert.equal(job.result, undefined);
      const attempts = srv.logs.filter((l) => l.includes('"job started"') && l.includes(jobId));
      assert.equal(attempts.length, 3, 'exactly EASEL_MAX_ATTEMPTS attempts');
      const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
      assert.equal(profile.balance_eur, '1.000000');
      assert.equal(profile.held_eur, '0.000000');
      const audit = await auditLedger(srv, 'retry-fail');
      assert.equal(audit.captures, 0);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
    } finally {
      await srv.stop();
    }
  });

  it('a request that outlives the sync timeout answers 503 with the job id; the job completes and is listed', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SYNC_TIMEOUT_S: '1', EASEL_SKETCH_LATENCY_MS: '2500' } });
    try {
      const key = await srv.createKey('slow', '1');
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a very slow snail' } });
      assert.equal(res.status, 503);
      assert.equal(res.body.error, 'service_unavailable');
      assert.ok(Number(res.headers.get('retry-after')) > 0);
      const jobId = res.headers.get('x-easel-job-id')!;
      assert.equal(res.body.details.job_id, jobId);
      const job = await waitFor(async () => {
        const j = (await api(srv.baseUrl, 'GET', `/v1/jobs/${jobId}`, { key })).body;
        return j.status === 'completed' ? j : null;
      }, 15_000, 100);
      assert.equal(job.result.id, jobId);
    } finally {
      await srv.stop();
    }
  });

  it('SIGTERM drains: the running job finishes, the process exits 0, and a restart finds nothing lost', async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '1500', EASEL_WORKER_CONCURRENCY: '1' } });
    const key = await srv.createKey('drain', '1');
    const inflight = api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'finish me' } });
    await waitFor(async () => (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.generations[0]?.status === 'processing');
    const code = await srv.kill('SIGTERM');
    assert.equal(code, 0);
    const res = await inflight;
    assert.equal(res.status, 200, 'the in-flight request got its answer before exit');
    await srv.boot({ EASEL_SKETCH_LATENCY_MS: '0' });
    try {
      const jobs = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.generations;
      assert.equal(jobs.length, 1);
      assert.equal(jobs[0].status, 'completed');
    } finally {
      await srv.stop();
    }
  });
});
