import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { queryDb } from '../helpers/store-snapshot.js';

const SKETCH = 20_000;
const ended = (j: { status: string }) => j.status === 'completed' || j.status === 'failed';
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function batchOf(srv: EaselProcess, key: string, id: string): Promise<any> {
  return (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
}

/** The provider calls the offline renderer logged, per prompt. */
function callsPerPrompt(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const p = String((JSON.parse(line) as { prompt: string }).prompt);
    out.set(p, (out.get(p) ?? 0) + 1);
  }
  return out;
}

describe(`batches under crashes and load (${MODE})`, () => {
  it('SIGKILL of the server mid-batch: the batch resumes, every item is generated and charged once (only calls in flight at the kill are made again)', async () => {
    const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-batch-calls-')), 'calls.jsonl');
    const workers = 2;
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '400', EASEL_WORKER_CONCURRENCY: String(workers), EASEL_LEASE_MS: '1500', EASEL_PROVIDER_CALL_LOG: callLog } });
    try {
      const key = await srv.createKey('batch-crash', '5');
      const prompts = Array.from({ length: 30 }, (_, i) => `crash batch item ${i}`);
      // raw_prompt: the provider gets the words as written, so the call log names each item.
      const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: prompts.map((prompt) => ({ prompt })), defaults: { raw_prompt: true } } });
      assert.equal(res.status, 202, res.text);
      const id = res.body.job_id;
      await waitFor(async () => (await batchOf(srv, key, id)).batch.items_completed >= 6, 60_000, 20);
      await srv.kill('SIGKILL');
      // What was recorded at the kill: the items completed then must never be generated again.
      const doneAtKill = new Set((await queryDb(srv, "select request_json from jobs where batch_id = $1 and status = 'completed'", [id])).map((r) => String(JSON.parse(String(r.request_json)).prompt)));
      assert.ok(doneAtKill.size >= 6);

      await srv.boot({ EASEL_SKETCH_LATENCY_MS: '0' });
      const done = await waitFor(async () => {
        const b = await batchOf(srv, key, id);
        return ended(b) ? b : null;
      }, 60_000, 100);
      assert.equal(done.status, 'completed', JSON.stringify(done));
      assert.equal(done.batch.items_completed, 30);
      assert.deepEqual(done.cost, { held_eur: '0.000000', charged_eur: (30 * SKETCH / 1e6).toFixed(6), refunded_eur: '0.000000' });

      const calls = callsPerPrompt(callLog);
      for (const p of prompts) {
        const n = calls.get(p) ?? 0;
        assert.ok(n >= 1, `${p} was generated`);
        if (doneAtKill.has(p)) assert.equal(n, 1, `${p} was recorded before the kill and never generated again`);
      }
      const repeated = prompts.filter((p) => (calls.get(p) ?? 0) > 1);
      assert.ok(repeated.length <= workers, `only the calls in flight at the kill are made again (${repeated.length})`);
      for (const p of repeated) assert.equal(calls.get(p), 2);

      const audit = await auditLedger(srv, 'batch-crash');
      assert.equal(audit.held, 0);
      assert.equal(audit.captures, 30 * SKETCH, 'every item charged exactly once');
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
      assert.deepEqual(audit.chargeMismatches, []);
    } finally {
      await srv.stop();
    }
  });

  it("a 1 000-item batch of one account delays another account's single image by at most two items' service time", async () => {
    const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '500', EASEL_WORKER_CONCURRENCY: '2' } });
    try {
      const a = await srv.createKey('batch-fair-a', '25');
      const b = await srv.createKey('batch-fair-b', '1');
      const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key: a, body: { operation: 'image', items: Array.from({ length: 1000 }, (_, i) => ({ prompt: `fair batch ${i}` })) } });
      assert.equal(res.status, 202, res.text);
      const id = res.body.job_id;
      // Both slots busy with A's items, a few already done (their run time is the service time).
      await waitFor(async () => (await batchOf(srv, a, id)).batch.items_completed >= 4, 60_000, 20);
      const single = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key: b, body: { prompt: 'the other account' } });
      assert.equal(single.status, 200, single.text);
      const [bJob] = await queryDb(srv, 'select created_at, started_at from jobs where id = $1', [single.body.id]);
      const waited = Number(bJob!.started_at) - Number(bJob!.created_at);
      const runs = await queryDb(srv, "select started_at, completed_at from jobs where batch_id = $1 and status = 'completed'", [id]);
      const service = median(runs.map((r) => Number(r.completed_at) - Number(r.started_at)));
      assert.ok(waited <= 2 * service, `B waited ${waited} ms; one item takes ${service} ms`);
      // In order, not only in time: B joins the schedule at A's pass (idleness earns no credit), so between
      // B's submission and its start at most one item per worker slot starts (one that wins that tie, or one
      // claimed while B's create was committing) — never a run of the batch's 990 waiting items.
      const overtook = await queryDb(srv, 'select count(*) as n from jobs where batch_id = $1 and started_at > $2 and started_at < $3', [id, Number(bJob!.created_at), Number(bJob!.started_at)]);
      assert.ok(Number(overtook[0]!.n) <= 2, `items of the batch that started before the single image: ${overtook[0]!.n}`);

      // Canceling the rest of a 1 000-item batch returns every waiting item's hold.
      const c = await api(srv.baseUrl, 'POST', `/v1/batches/${id}/cancel`, { key: a });
      assert.ok(c.status === 200 || c.status === 202, c.text);
      const done = await waitFor(async () => {
        const j = await batchOf(srv, a, id);
        return ended(j) ? j : null;
      }, 60_000, 100);
      assert.equal(done.canceled, true);
      const n = done.batch.items_completed;
      assert.equal(done.batch.items_canceled, 1000 - n);
      const audit = await auditLedger(srv, 'batch-fair-a');
      assert.equal(audit.held, 0);
      assert.equal(audit.captures, n * SKETCH);
      assert.equal(audit.available, 25_000_000 - n * SKETCH);
      assert.deepEqual(audit.unbalancedTerminalJobs, []);
    } finally {
      await srv.stop();
    }
  });
});
