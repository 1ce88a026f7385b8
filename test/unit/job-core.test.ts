import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { openCore, money, type Core } from '../helpers/core.js';
import { MODE } from '../helpers/server.js';
import { LeaseLost } from '../../src/jobs/lease-lost.js';
import { WorkerPool } from '../../src/worker/pool.js';
import type { Pipeline, PipelineDeps } from '../../src/pipelines/context.js';

const PRICE = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the task's lease has run out and another claim can take it. */
async function reclaimAfterExpiry(core: Core, jobId: string) {
  await sleep(core.leaseMs + 50);
  return core.claimJob(jobId, 'second');
}

async function rowsOf(core: Core, jobId: string) {
  const count = async (t: 'ledger' | 'job_events' | 'job_steps') => Number((await core.db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).where('job_id', '=', jobId).executeTakeFirstOrThrow()).n);
  const job = await core.db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  return { job, ledger: await count('ledger'), events: await count('job_events'), steps: await count('job_steps') };
}

/**
 * The job core in-process (test/helpers/core.ts): every transition of src/jobs/transitions and
 * the queue against a real store — a SQLite file, or PostgreSQL.
 */
describe(`job transitions and the queue on ${MODE === 'scaleout' ? 'PostgreSQL' : 'SQLite'}, in-process`, () => {
  let core: Core;
  before(async () => {
    core = await openCore();
  });
  after(async () => {
    await core.close();
  });

  it('claim → start → step → complete: each fenced by the claim token, money exact', async () => {
    const acc = await core.account('core-happy');
    const id = await core.submit(acc, 2 * PRICE, 'story');
    const t = await core.claimJob(id);
    assert.ok(t.token.length >= 16, 'a claim carries a token');
    const fence = { jobId: id, token: t.token };
    const started = await core.jobs.start(fence);
    assert.equal(started.outcome, 'started');
    assert.equal((await rowsOf(core, id)).job.lease_token, t.token, 'the job row names the claim that owns it');
    assert.equal(await core.jobs.recordStep(fence, { step: 'scene-0', ordinal: 0, output: { x: 1 }, costMicros: PRICE, countsAsScene: true }), true);
    assert.equal(await core.jobs.recordStep(fence, { step: 'scene-0', ordinal: 0, output: { x: 2 }, costMicros: PRICE, countsAsScene: true }), false, 'a step is recorded once');
    assert.equal(await core.jobs.complete(fence, 0, (bal, charged) => ({ kind: 'test', bal, charged })), true);
    const r = await rowsOf(core, id);
    assert.equal(r.job.status, 'completed');
    assert.equal(r.job.lease_token, null, 'a settled job has no owner');
    assert.equal(Number(r.job.charged_micros), PRICE);
    assert.equal(Number(r.job.refunded_micros), PRICE);
    assert.deepEqual(JSON.parse(r.job.result_json!), { kind: 'test', bal: 1_000_000 - PRICE, charged: PRICE });
    const m = await money(core.db, acc);
    assert.deepEqual([m.available, m.held, m.ledgerAvailable, m.ledgerHeld], [1_000_000 - PRICE, 0, 1_000_000 - PRICE, 0]);
    assert.equal((await core.queue.stats()).leased, 0, 'the task is gone with the settle');
    assert.deepEqual(core.stale, []);
  });

  it('a stale writer: after its lease expired and another claim started the job, every transition it tries is a no-op, reported', async () => {
    const acc = await core.account('core-stale');
    const id = await core.submit(acc, 3 * PRICE, 'story');
    const a = await core.claimJob(id, 'first');
    const fa = { jobId: id, token: a.token };
    assert.equal((await core.jobs.start(fa)).outcome, 'started');
    assert.equal(await core.jobs.recordStep(fa, { step: 'scene-0', ordinal: 0, output: {}, costMicros: PRICE, countsAsScene: true }), true);
    // The first worker stops heart-beating (paused); its lease runs out and a second claim takes the task.
    const b = await reclaimAfterExpiry(core, id);
    assert.notEqual(b.token, a.token);
    assert.equal(await core.queue.heartbeat(id, a.token, core.leaseMs), false, 'the lost claim cannot re-arm the lease');
    const fb = { jobId: id, token: b.token };
    assert.equal((await core.jobs.start(fb)).outcome, 'started');
    const snapshot = await rowsOf(core, id);
    core.stale.length = 0;
    // Every worker transition of the first claim is refused, and writes nothing.
    const attempts: [string, () => Promise<unknown>][] = [
      ['record_step', () => core.jobs.recordStep(fa, { step: 'scene-1', ordinal: 1, output: {}, costMicros: PRICE, countsAsScene: true })],
      ['record_failed_scene', () => core.jobs.recordFailedScene(fa, { step: 'scene-2', ordinal: 1002, index: 2 }, { code: 'x', message: 'y' })],
      ['complete', () => core.jobs.complete(fa, PRICE, () => ({ stale: true }))],
      ['fail', () => core.jobs.fail(fa, 'upstream_error', 'stale failure')],
      ['retry_later', () => core.jobs.retryLater(fa, Date.now(), 'stale retry')],
      ['release', () => core.jobs.release(fa)],
    ];
    for (const [name, attempt] of attempts) await assert.rejects(attempt(), (e: unknown) => e instanceof LeaseLost && e.transition === name, name);
    assert.equal(await core.jobs.checkpoint(fa), 'lost');
    await assert.rejects(core.jobs.assertOwned(fa), LeaseLost);
    assert.deepEqual(await rowsOf(core, id), snapshot, 'nothing written by the stale claim');
    assert.deepEqual(core.stale.map((s) => s.transition), ['record_step', 'record_failed_scene', 'complete', 'fail', 'retry_later', 'release', 'checkpoint', 'checkpoint']);
    assert.ok(core.stale.every((s) => s.fence.token === a.token));
    // The owner goes on: the step the stale claim tried is recorded once, by the owner.
    assert.equal(await core.jobs.recordStep(fb, { step: 'scene-1', ordinal: 1, output: {}, costMicros: PRICE, countsAsScene: true }), true);
    assert.equal(await core.jobs.complete(fb, 0, () => ({ ok: true })), true);
    const m = await money(core.db, acc);
    assert.deepEqual([m.available, m.held, m.ledgerAvailable], [1_000_000 - 2 * PRICE, 0, 1_000_000 - 2 * PRICE]);
  });

  it('a claim that lost its task before starting cannot take the job back from the new owner', async () => {
    const acc = await core.account('core-late-start');
    const id = await core.submit(acc, PRICE);
    const a = await core.claimJob(id, 'first');
    const b = await reclaimAfterExpiry(core, id);
    assert.equal((await core.jobs.start({ jobId: id, token: b.token })).outcome, 'started');
    core.stale.length = 0;
    assert.equal((await core.jobs.start({ jobId: id, token: a.token })).outcome, 'stale', 'the queue no longer gives the job to the first claim');
    assert.equal((await rowsOf(core, id)).job.lease_token, b.token);
    assert.deepEqual(core.stale.map((s) => s.transition), ['start']);
    await core.jobs.fail({ jobId: id, token: b.token }, 'test_done', 'done');
  });

  it('retryLater gives the token up and the task back for a later attempt; the job stays processing', async () => {
    const acc = await core.account('core-retry');
    const id = await core.submit(acc, PRICE);
    const a = await core.claimJob(id);
    const fa = { jobId: id, token: a.token };
    await core.jobs.start(fa);
    await core.jobs.retryLater(fa, Date.now(), 'upstream_error: 503');
    const r = await rowsOf(core, id);
    assert.equal(r.job.status, 'processing');
    assert.equal(r.job.lease_token, null);
    await assert.rejects(core.jobs.complete(fa, PRICE, () => ({})), LeaseLost, 'the retried claim is done writing');
    const b = await core.claimJob(id, 'retry');
    assert.ok(b.attempts >= 2, `the retry is a counted attempt (${b.attempts})`);
    const started = await core.jobs.start({ jobId: id, token: b.token });
    assert.equal(started.outcome, 'started');
    if (started.outcome === 'started') assert.equal(Number(started.job.attempts), 2);
    assert.equal(await core.jobs.complete({ jobId: id, token: b.token }, PRICE, () => ({})), true);
    const events = await core.db.selectFrom('job_events').select('type').where('job_id', '=', id).orderBy('seq').execute();
    assert.deepEqual(events.map((e) => e.type), ['job.created', 'job.started', 'job.completed'], 'one start for clients');
  });

  it('release (shutdown) hands the task back at once; fail releases the hold and keeps what was captured', async () => {
    const acc = await core.account('core-release');
    const id = await core.submit(acc, 2 * PRICE, 'story');
    const a = await core.claimJob(id);
    const fa = { jobId: id, token: a.token };
    await core.jobs.start(fa);
    await core.jobs.recordStep(fa, { step: 'scene-0', ordinal: 0, output: {}, costMicros: PRICE, countsAsScene: true });
    await core.jobs.release(fa);
    assert.equal((await rowsOf(core, id)).job.lease_token, null);
    const b = await core.claimJob(id, 'after-release');
    const fb = { jobId: id, token: b.token };
    assert.equal((await core.jobs.start(fb)).outcome, 'started');
    await core.jobs.fail(fb, 'content_rejected', 'scene 2 refused');
    const r = await rowsOf(core, id);
    assert.equal(r.job.status, 'failed');
    assert.equal(Number(r.job.charged_micros), PRICE);
    assert.equal(Number(r.job.refunded_micros), PRICE);
    const m = await money(core.db, acc);
    assert.deepEqual([m.available, m.held], [1_000_000 - PRICE, 0]);
  });

  it('cancel: a pending job at once; a running one settles canceled at its owner\'s next transition, finished work kept', async () => {
    const acc = await core.account('core-cancel');
    const pending = await core.submit(acc, PRICE);
    const c1 = await core.jobs.cancel(pending, acc);
    assert.equal(c1?.status, 'canceled');
    const id = await core.submit(acc, 2 * PRICE, 'story');
    const t = await core.claimJob(id);
    const f = { jobId: id, token: t.token };
    await core.jobs.start(f);
    await core.jobs.recordStep(f, { step: 'scene-0', ordinal: 0, output: {}, costMicros: PRICE, countsAsScene: true });
    const c2 = await core.jobs.cancel(id, acc);
    assert.equal(c2?.status, 'processing');
    assert.equal(await core.jobs.checkpoint(f), 'cancel');
    assert.equal(await core.jobs.complete(f, PRICE, () => ({})), false, 'the result is discarded');
    const r = await rowsOf(core, id);
    assert.equal(r.job.status, 'canceled');
    assert.equal(Number(r.job.charged_micros), PRICE);
    await assert.rejects(core.jobs.cancel(id, acc), /already canceled/);
    assert.equal(await core.jobs.cancel(id, 'another-account'), undefined, 'another account sees no job');
    const m = await money(core.db, acc);
    assert.deepEqual([m.available, m.held, m.ledgerAvailable], [1_000_000 - PRICE, 0, 1_000_000 - PRICE]);
  });

  it('abandon (the queue gave up) fails the job for whoever held it; the holder is stale from then on', async () => {
    const acc = await core.account('core-abandon');
    const id = await core.submit(acc, PRICE);
    const t = await core.claimJob(id);
    const f = { jobId: id, token: t.token };
    await core.jobs.start(f);
    await core.jobs.abandon(id, 'timeout', 'given up');
    assert.equal((await rowsOf(core, id)).job.status, 'failed');
    await assert.rejects(core.jobs.complete(f, PRICE, () => ({})), LeaseLost);
    assert.deepEqual([(await money(core.db, acc)).available, (await money(core.db, acc)).held], [1_000_000, 0]);
  });
});

describe(`WorkerPool in-process (${MODE})`, () => {
  let core: Core;
  before(async () => {
    core = await openCore();
  });
  after(async () => {
    await core.close();
  });

  function pool(pipelines: Record<string, Pipeline>, leaseMs = core.leaseMs) {
    const deps = { db: core.db, jobs: core.jobs } as unknown as PipelineDeps;
    return new WorkerPool(core.queue, core.jobs, deps, pino({ level: 'silent' }), { concurrency: 1, leaseMs, maxAttempts: 3, retryBaseMs: 10, idlePollMs: 50 }, pipelines);
  }

  it('runs a job to completion through its pipeline, fenced', async () => {
    const acc = await core.account('pool-run');
    const p = pool({ image: async (deps, run) => void (await deps.jobs.complete(run.fence, PRICE, () => ({ ran: run.fence.token.length > 0 }))) });
    p.start();
    try {
      const id = await core.submit(acc, PRICE);
      core.queue.poke();
      const job = await core.jobs.waitForTerminal(id, 15_000);
      assert.equal(job?.status, 'completed');
      assert.deepEqual(JSON.parse(job!.result_json!), { ran: true });
    } finally {
      await p.stop(1000);
    }
  });

  it('shutdown: a job still running past the grace is aborted and released, not failed, and the next worker finishes it', async () => {
    const acc = await core.account('pool-shutdown');
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    const waitForAbort: Pipeline = (_deps, run) =>
      new Promise((_, reject) => {
        started();
        run.signal.addEventListener('abort', () => reject(new Error('aborted')));
      });
    const p = pool({ image: waitForAbort });
    p.start();
    const id = await core.submit(acc, PRICE);
    core.queue.poke();
    await running;
    await p.stop(100);
    const r = await rowsOf(core, id);
    assert.equal(r.job.status, 'processing', 'still the client\'s job, not a failure');
    assert.equal(r.job.lease_token, null, 'given back');
    const q = pool({ image: async (deps, run) => void (await deps.jobs.complete(run.fence, PRICE, () => ({}))) });
    q.start();
    try {
      core.queue.poke();
      assert.equal((await core.jobs.waitForTerminal(id, 15_000))?.status, 'completed', 'claimable at once by the next worker');
    } finally {
      await q.stop(1000);
    }
  });

  it('a lost lease: the run is aborted and writes nothing; the job is finished by the claim that took it', async () => {
    const acc = await core.account('pool-lost');
    let fence!: { jobId: string; token: string };
    let aborted = false;
    let proceed!: () => void;
    const gate = new Promise<void>((r) => (proceed = r));
    // A pipeline that takes its time, then tries to complete: by then another claim owns the job.
    const slow: Pipeline = async (deps, run) => {
      fence = run.fence;
      run.signal.addEventListener('abort', () => (aborted = true));
      await gate;
      await deps.jobs.complete(run.fence, PRICE, () => ({ by: 'stale' }));
    };
    const p = pool({ image: slow });
    p.start();
    const id = await core.submit(acc, PRICE);
    core.queue.poke();
    await new Promise<void>((r) => {
      const t = setInterval(() => fence && (clearInterval(t), r()), 10);
    });
    // Another worker takes the task as if the pool's heartbeats had stopped reaching the queue.
    await core.db.transaction().execute(async (trx) => {
      await trx.updateTable('queue_tasks').set({ lease_owner: 'stolen' }).where('job_id', '=', id).execute();
    });
    const thief = { jobId: id, token: 'stolen' };
    assert.equal((await core.jobs.start(thief)).outcome, 'started');
    await new Promise<void>((r) => {
      const t = setInterval(() => aborted && (clearInterval(t), r()), 10);
    });
    core.stale.length = 0;
    proceed();
    await sleep(100);
    await p.stop(1000);
    assert.deepEqual(core.stale.map((s) => s.transition), ['complete'], 'the stale complete was refused');
    assert.equal((await rowsOf(core, id)).job.status, 'processing');
    assert.equal(await core.jobs.complete(thief, PRICE, () => ({ by: 'owner' })), true);
    assert.deepEqual(JSON.parse((await rowsOf(core, id)).job.result_json!), { by: 'owner' });
  });
});
