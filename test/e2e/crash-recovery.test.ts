import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';

const terminal = (s: string) => ['completed', 'failed', 'canceled'].includes(s);

async function allJobs(srv: EaselProcess, key: string): Promise<any[]> {
  return (await api(srv.baseUrl, 'GET', '/v1/jobs?limit=100', { key })).body.generations;
}

describe('crash recovery (SIGKILL)', () => {
  it('jobs queued and running when the server is killed all reach a terminal state after restart; the ledger balances', async () => {
    const env = { EASEL_SKETCH_LATENCY_MS: '2000', EASEL_WORKER_CONCURRENCY: '2', EASEL_LEASE_MS: '1500' };
    const srv = await EaselProcess.start({ env });
    const key = await srv.createKey('crash', '10');
    const inflight = Array.from({ length: 6 }, (_, i) =>
      api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `crash job ${i}` } }).catch(() => null),
    );
    await waitFor(async () => (await allJobs(srv, key)).length === 6);
    const before = await allJobs(srv, key);
    assert.ok(before.some((j) => j.status === 'processing'), 'some job was running at the kill');
    assert.ok(before.some((j) => j.status === 'pending'), 'some job was still queued at the kill');
    await srv.kill('SIGKILL');
    await Promise.all(inflight);

    await srv.boot({ EASEL_SKETCH_LATENCY_MS: '0' });
    try {
      const after = await waitFor(async () => {
        const jobs = await allJobs(srv, key);
        return jobs.every((j) => terminal(j.status)) ? jobs : null;
      }, 30_000, 100);
      assert.equal(after.length, 6);
      for (const j of after) {
        assert.equal(j.status, 'completed', JSON.stringify(j));
        const png = await download(j.result.formats.png.url);
        assert.equal(png.status, 200);
        assert.equal((await sharp(png.bytes).metadata()).format, 'png');
      }
      const audit = await auditLedger(srv, 'crash');
      assert.equal(audit.held, 0);
      assert.equal(audit.captures, 6 * 20_000);
      assert.equal(audit.available, 10_000_000 - 6 * 20_000);
      assert.equal(audit.ledgerAvailable, audit.available);
      assert.equal(audit.ledgerHeld, audit.held);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    } finally {
      await srv.stop();
    }
  });

  // Each named point sits between a side effect and the record of it.
  for (const point of ['after_provider_call', 'after_raw_stored', 'after_image_stored', 'after_job_completed']) {
    it(`a kill at "${point}" neither loses the job nor charges it twice`, async () => {
      const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-calls-')), 'calls.jsonl');
      const srv = await EaselProcess.start({ env: { EASEL_CRASH_AT: point, EASEL_PROVIDER_CALL_LOG: callLog, EASEL_LEASE_MS: '1000' } });
      const key = await srv.createKey(`crash-${point}`, '1');
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `point ${point}` } }).catch(() => null);
      assert.equal(res, null, 'the server died before answering');
      assert.equal(await srv.exited, null, 'killed by a signal');

      await srv.boot({ EASEL_CRASH_AT: '' });
      try {
        const [job] = await waitFor(async () => {
          const jobs = await allJobs(srv, key);
          return jobs.length === 1 && terminal(jobs[0].status) ? jobs : null;
        }, 20_000, 100);
        assert.equal(job.status, 'completed');
        assert.equal(job.result.cost_eur, '0.020000');
        const calls = fs.readFileSync(callLog, 'utf8').trim().split('\n').filter((l) => l.includes(`point ${point}`));
        // Only a kill between the vendor's answer and storing it can cost a second call; a stored image is never regenerated.
        assert.equal(calls.length, point === 'after_provider_call' ? 2 : 1, `provider calls: ${calls.length}`);
        const audit = await auditLedger(srv, `crash-${point}`);
        assert.equal(audit.captures, 20_000, 'charged exactly once');
        assert.equal(audit.available, 1_000_000 - 20_000);
        assert.equal(audit.held, 0);
        assert.deepEqual(audit.unbalancedTerminalJobs, []);
      } finally {
        await srv.stop();
      }
    });
  }
});
