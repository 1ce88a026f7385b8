import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, MODE, api, download, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { captures } from '../helpers/story.js';
import { listBlobs, queryDb } from '../helpers/store-snapshot.js';

/** One portrait, then four scenes: five paid steps at EUR 0.02. Prompts go out as written, so calls can be told apart. */
const STORY = {
  model: 'easel-sketch',
  raw_prompts: true,
  characters: [{ name: 'Ines', appearance: 'a diver with a yellow mask' }],
  scenes: [0, 1, 2, 3].map((n) => ({ prompt: `stale story: dive ${n}`, characters: ['Ines'] })),
};
const STEPS = 5;
const PRICE = 20_000;

/** Whether the kernel reports the process stopped (state T in /proc/<pid>/stat). */
function isStopped(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/** Everything a stale worker could write: the job's rows, its money, its events, its files, the provider calls. */
async function footprint(srv: EaselProcess, jobId: string, callLog: string) {
  const count = async (table: string) => Number((await queryDb(srv, `select count(*) as n from ${table} where job_id = $1`, [jobId]))[0]!.n);
  const [job] = await queryDb(srv, 'select status, charged_micros, refunded_micros, updated_at, lease_token from jobs where id = $1', [jobId]);
  return {
    job: { ...job, charged_micros: Number(job!.charged_micros), refunded_micros: Number(job!.refunded_micros), updated_at: Number(job!.updated_at) },
    ledger: await count('ledger'),
    events: await count('job_events'),
    steps: await count('job_steps'),
    files: await listBlobs(srv, `jobs/${jobId}`),
    calls: fs.readFileSync(callLog, 'utf8'),
  };
}

/** Every file key the job's step records and result point at. */
async function recordedKeys(srv: EaselProcess, jobId: string): Promise<Set<string>> {
  const texts = [
    ...(await queryDb(srv, 'select output_json as t from job_steps where job_id = $1', [jobId])),
    ...(await queryDb(srv, 'select result_json as t from jobs where id = $1', [jobId])),
  ].map((r) => String(r.t ?? ''));
  return new Set(texts.flatMap((t) => [...t.matchAll(/"key":"([^"]+)"/g)].map((m) => m[1]!)));
}

/**
 * A worker that stops dead (SIGSTOP: a GC pause, a suspended VM) past its lease while running a
 * story; a second worker takes the job and finishes it; then the first wakes (SIGCONT). Its claim
 * is fenced: it must write nothing — no step, no money, no event, no file — and make no provider
 * call, while the job's every step was generated and charged once.
 */
describe(`a worker paused past its lease writes nothing when it wakes (${MODE})`, () => {
  const cases = [
    // Between steps (scene 3's call not yet made): every step is called exactly once in all.
    { point: 'story_before_scene:3', repeated: [] as string[], inTransaction: false },
    // With a provider answer in hand, not yet stored (hits: the portrait, scene 0, scene 1): that one call is abandoned and made again.
    { point: 'story_after_provider_call:3', repeated: ['stale story: dive 1'], inTransaction: false },
    // Inside the transaction recording the last scene (hits: the portrait, scenes 0–2, scene 3), every write
    // made, the commit not sent: the stopped process holds the job's row lock and its account's. PostgreSQL
    // ends the idle transaction (EASEL_DATABASE_IDLE_TX_TIMEOUT_MS) and frees them, so the second worker is not
    // blocked behind them; nothing of it was committed. SQLite has no server to end another process's
    // transaction: a process stopped inside one holds the database's write lock (docs/RELIABILITY.md).
    ...(MODE === 'scaleout' ? [{ point: 'record_step_in_transaction:5', repeated: [] as string[], inTransaction: true }] : []),
  ];
  for (const { point, repeated, inTransaction } of cases) {
    it(`paused at ${point}: the second worker finishes; the first, resumed, is fenced out`, async () => {
      const callLog = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-stale-calls-')), 'calls.jsonl');
      fs.writeFileSync(callLog, '');
      const env = { EASEL_SKETCH_LATENCY_MS: '200', EASEL_LEASE_MS: '1500', EASEL_WORKER_CONCURRENCY: '1', EASEL_PROVIDER_CALL_LOG: callLog };
      const apiProc = await EaselProcess.start({ env, args: ['--no-worker'] });
      const procs: EaselProcess[] = [apiProc];
      try {
        const first = await EaselProcess.start({ env: { ...env, EASEL_CRASH_AT: point, EASEL_CRASH_SIGNAL: 'SIGSTOP', EASEL_METRICS_PORT: '0' }, command: 'worker', sharedWith: apiProc });
        procs.push(first);
        const account = `stale-${point.replace(/[^a-z0-9]/g, '-')}`;
        const key = await apiProc.createKey(account, '1');
        const res = await api(apiProc.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
        assert.equal(res.status, 202, res.text);
        const jobId: string = res.body.job_id;
        const pid = first.child!.pid!;
        await waitFor(async () => isStopped(pid), 30_000, 20);
        const stoppedAt = Date.now();

        // The second worker claims the job once the first one's lease has run out, and finishes it.
        const second = await EaselProcess.start({ env, command: 'worker', sharedWith: apiProc });
        procs.push(second);
        const done = await waitFor(async () => {
          const j = (await api(apiProc.baseUrl, 'GET', `/v1/jobs/${jobId}`, { key })).body;
          return j.status === 'completed' || j.status === 'failed' ? j : null;
        }, 60_000, 100);
        assert.equal(done.status, 'completed', JSON.stringify(done));
        assert.equal(done.scenes_completed, 4);
        assert.equal(done.result.cost_eur, '0.100000');
        for (const s of done.result.scenes) assert.equal((await download(s.images.png)).status, 200);
        assert.ok(isStopped(pid), 'the first worker slept through all of it');
        // No transaction begun before the pause is still open: the server ended the stopped worker's (when it had one).
        if (MODE === 'scaleout') {
          const open = await queryDb(apiProc, 'select count(*)::int as n from pg_stat_activity where datname = current_database() and xact_start < to_timestamp($1::float8 / 1000)', [stoppedAt]);
          assert.equal(open[0]!.n, 0, 'the stopped worker holds no transaction');
        }

        // Wake the first worker: it finds its claim gone and stops without a trace.
        const before = await footprint(apiProc, jobId, callLog);
        first.child!.kill('SIGCONT');
        await waitFor(async () => first.logs.some((l) => l.includes('lease lost')), 20_000, 50);
        // Let anything it might still do (a trailing write, a heartbeat, a retry) happen before looking.
        await new Promise((r) => setTimeout(r, 2000));
        const after = await footprint(apiProc, jobId, callLog);
        const { files: filesBefore, ...rowsBefore } = before;
        const { files: filesAfter, ...rowsAfter } = after;
        assert.deepEqual(rowsAfter, rowsBefore, 'the resumed worker wrote no row, no money, no event, and called no provider');
        // A file write already under way when the process froze may land when it thaws, but only in the
        // paused run's own folder (run-1): nothing that any run recorded is replaced.
        const recorded = await recordedKeys(apiProc, jobId);
        assert.ok(recorded.size >= STEPS * 3, `the job records its files (${recorded.size})`);
        for (const k of recorded) assert.equal(filesAfter.get(k), filesBefore.get(k), `${k} is unchanged`);
        for (const [k, v] of filesAfter) {
          if (filesBefore.get(k) !== v) assert.ok(k.includes('/run-1/') && !recorded.has(k), `${k} changed after the thaw`);
        }
        // A worker that woke with a write to make is refused by the fence. One stopped inside a transaction
        // has none left: the server rolled that one back, and the heartbeat finds the lease gone.
        if (!inTransaction) {
          assert.ok(first.logs.some((l) => l.includes('stale writer refused')), 'the refusal is logged');
          const metricsLine = first.logs.find((l) => l.includes('worker metrics listening'));
          const metricsUrl = (JSON.parse(metricsLine!) as { metrics_url: string }).metrics_url;
          const metrics = await (await fetch(metricsUrl)).text();
          assert.match(metrics, /easel_job_stale_writes_total\{transition="[a-z_]+"\} [1-9]/, 'and counted in /metrics');
        }

        // Every step generated once (but the one call abandoned in the pause), and charged once.
        const calls = fs.readFileSync(callLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; pid: number });
        const byPrompt = new Map<string, number[]>();
        for (const c of calls) byPrompt.set(c.prompt, [...(byPrompt.get(c.prompt) ?? []), c.pid]);
        assert.equal(byPrompt.size, STEPS, [...byPrompt.keys()].join(' | '));
        for (const [prompt, pids] of byPrompt) {
          if (repeated.includes(prompt)) assert.deepEqual(pids, [pid, second.child!.pid], `${prompt}: abandoned by the first worker, made by the second`);
          else assert.equal(pids.length, 1, `${prompt}: called ${pids.length} times`);
        }
        const rows = await captures(apiProc, account);
        assert.equal(rows.length, STEPS);
        assert.equal(new Set(rows.map((r) => r.note)).size, STEPS, 'each step captured once');
        const audit = await auditLedger(apiProc, account);
        assert.equal(audit.captures, STEPS * PRICE);
        assert.equal(audit.available, 1_000_000 - STEPS * PRICE);
        assert.equal(audit.held, 0);
        assert.equal(audit.ledgerAvailable, audit.available);
        assert.deepEqual(audit.unbalancedTerminalJobs, []);
        assert.deepEqual(audit.chargeMismatches, []);
      } finally {
        for (const p of procs.reverse()) {
          if (p.child?.pid && p.child.exitCode === null) p.child.kill('SIGCONT');
          await p.stop();
        }
      }
    });
  }
});
