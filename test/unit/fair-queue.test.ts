import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openCore, type Core, type CoreOptions } from '../helpers/core.js';
import { MODE } from '../helpers/server.js';
import { EaselError } from '../../src/errors.js';
import { setScheduling } from '../../src/accounts/scheduling.js';
import type { QueueTask } from '../../src/queue/port.js';
import { countersMatch } from '../helpers/queue-counters.js';

const PRICE = 3_000;

/**
 * The fair dispatcher in-process (src/queue/fair-claim.ts) on the mode's real store: the claim
 * order between accounts and within one, the running limit, the queue position, the spending
 * caps and the schedule's counters — each checked against what a client of that account would see
 * (which job starts when), not against the algorithm's internals.
 */
describe(`fair dispatch on ${MODE === 'scaleout' ? 'PostgreSQL' : 'SQLite'}, in-process`, () => {
  let core: Core;
  const cores: Core[] = [];
  const open = async (o: CoreOptions = {}) => {
    core = await openCore({ leaseMs: 60_000, ...o });
    cores.push(core);
    return core;
  };
  afterEach(async () => {
    if (core) await countersMatch(core);
    await Promise.all(cores.splice(0).map((c) => c.close()));
  });

  const submit = async (accountId: string, o: { priority?: 'low' | 'normal' | 'high'; operation?: string; scenes?: number; price?: number } = {}) =>
    (
      await core.jobs.submit({
        accountId,
        keyId: null,
        operation: o.operation ?? 'image',
        model: 'easel-sketch',
        request: { prompt: 'fair' },
        holdMicros: o.price ?? PRICE,
        scenesTotal: o.scenes ?? 1,
        options: o.priority ? { priority: o.priority } : {},
      })
    ).id;
  const claim = async () => core.queue.claim('test', 60_000);
  const done = async (t: QueueTask) => core.db.transaction().execute((trx) => core.queue.complete(trx, t.jobId));
  const owner = new Map<string, string>();
  const submitMany = async (accountId: string, n: number, o: Parameters<typeof submit>[1] = {}) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await submit(accountId, o);
      owner.set(id, accountId);
      ids.push(id);
    }
    return ids;
  };

  it('newcomers are not stuck behind a backlog: A queues 200, then B and C submit 5 each → every B and C job starts before A\'s 15th', async () => {
    await open();
    const [a, b, c] = [await core.account('fair-a', 10), await core.account('fair-b', 10), await core.account('fair-c', 10)];
    await submitMany(a, 200);
    // Four slots are busy with A's work when B and C arrive.
    const running: QueueTask[] = [];
    for (let i = 0; i < 4; i++) running.push((await claim())!);
    await submitMany(b, 5);
    await submitMany(c, 5);
    const started: string[] = running.map((t) => t.accountId);
    while (started.filter((x) => x === a).length < 15) {
      await done(running.shift()!);
      const t = await claim();
      assert.ok(t, 'work is waiting');
      running.push(t);
      started.push(t.accountId);
    }
    const a15 = started.lastIndexOf(a);
    const lastBC = Math.max(started.lastIndexOf(b), started.lastIndexOf(c));
    assert.equal(started.filter((x) => x === b).length, 5, `B's five started: ${started.join(',')}`);
    assert.equal(started.filter((x) => x === c).length, 5);
    assert.ok(lastBC < a15, `the last B/C job (start #${lastBC + 1}) starts before A's 15th (start #${a15 + 1})`);
  });

  it('weights 2:1 between two backlogged accounts → they get workers 2:1', async () => {
    await open();
    const [a, b] = [await core.account('w-a', 10), await core.account('w-b', 10)];
    await setScheduling(core.db, 'w-a', { weight: 2 });
    await submitMany(a, 120);
    await submitMany(b, 120);
    const n = { [a]: 0, [b]: 0 };
    for (let i = 0; i < 90; i++) {
      const t = (await claim())!;
      n[t.accountId]! += 1;
      await done(t);
    }
    assert.ok(Math.abs(n[a]! - 60) <= 1 && Math.abs(n[b]! - 30) <= 1, `A (weight 2) ran ${n[a]}, B (weight 1) ran ${n[b]} of 90`);
  });

  it('a story occupies the workers by its scenes: after a 4-scene story, another account runs about 4 images before the story\'s account runs again', async () => {
    await open();
    const [a, b] = [await core.account('s-a', 10), await core.account('s-b', 10)];
    const story = await submit(a, { operation: 'story', scenes: 4 });
    await submitMany(a, 3);
    await submitMany(b, 10);
    const order: string[] = [];
    for (let i = 0; i < 8; i++) {
      const t = (await claim())!;
      order.push(t.jobId === story ? 'story' : t.accountId === a ? 'a' : 'b');
      await done(t);
    }
    assert.deepEqual(order.slice(0, 6), ['story', 'b', 'b', 'b', 'b', 'a'], order.join(','));
  });

  it('within one account: high before normal before low', async () => {
    await open();
    const a = await core.account('p-a', 10);
    const ids = {
      low1: await submit(a, { priority: 'low' }),
      normal1: await submit(a),
      high1: await submit(a, { priority: 'high' }),
      low2: await submit(a, { priority: 'low' }),
      normal2: await submit(a, { priority: 'normal' }),
      high2: await submit(a, { priority: 'high' }),
    };
    const name = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
    const order: string[] = [];
    for (let t = await claim(); t; t = await claim()) {
      order.push(name.get(t.jobId)!);
      await done(t);
    }
    assert.deepEqual(order, ['high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
    const job = await core.jobs.get(ids.high1);
    assert.equal(job?.priority, 'high', 'the job remembers its priority');
  });

  it('aging: a low job runs under a constant stream of high ones, behind none submitted more than two aging periods after it', async () => {
    const agingMs = 150;
    await open({ queue: { agingMs } });
    const a = await core.account('age-a', 10);
    await submitMany(a, 3, { priority: 'high' });
    const low = await submit(a, { priority: 'low' });
    const lowJob = (await core.jobs.get(low))!;
    const before: number[] = [];
    for (let i = 0; i < 400; i++) {
      await submit(a, { priority: 'high' });
      const t = (await claim())!;
      await done(t);
      if (t.jobId === low) break;
      before.push(Number((await core.jobs.get(t.jobId))!.created_at));
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(before.length < 400, 'the low job started while high ones kept coming');
    const latest = Math.max(...before);
    assert.ok(latest <= Number(lowJob.created_at) + 2 * agingMs, `no high job submitted more than 2 × ${agingMs} ms after the low one went before it (latest +${latest - Number(lowJob.created_at)} ms)`);
  });

  it('the running limit: an account with its limit of jobs running is passed over, and nothing is claimed when every account is at it', async () => {
    await open({ queue: { maxRunning: 2 } });
    const [a, b] = [await core.account('r-a', 10), await core.account('r-b', 10)];
    await submitMany(a, 5);
    await submitMany(b, 5);
    const got: QueueTask[] = [];
    for (let t = await claim(); t; t = await claim()) got.push(t);
    assert.deepEqual(got.map((t) => (t.accountId === a ? 'a' : 'b')).sort(), ['a', 'a', 'b', 'b']);
    await done(got[0]!);
    const next = await claim();
    assert.equal(next?.accountId, got[0]!.accountId, 'a freed slot goes to the account that freed it (the other is at its limit)');
    const prof = await core.db.selectFrom('sched_accounts').select(['account_id', 'queued']).orderBy('account_id').execute();
    assert.deepEqual(prof.map((r) => Number(r.queued)).sort(), [2, 3]);
  });

  it('queue_position is 1 + the jobs that will start before it, across accounts and weights', async () => {
    await open();
    const [a, b, c] = [await core.account('q-a', 10), await core.account('q-b', 10), await core.account('q-c', 10)];
    await setScheduling(core.db, 'q-b', { weight: 2 });
    const all = [...(await submitMany(a, 6)), ...(await submitMany(b, 8)), ...(await submitMany(c, 3)), await submit(a, { priority: 'high' })];
    const predicted = new Map<string, number>();
    for (const id of all) predicted.set(id, (await core.queue.position(id))!);
    // A list page reads them together (src/queue/fair-position.ts fairPositions): the same numbers.
    const together = await core.queue.positions([...all, 'no-such-job']);
    for (const id of all) assert.equal(together.get(id), predicted.get(id), `positions() for ${id}`);
    assert.equal(together.get('no-such-job'), null);
    const actual: string[] = [];
    for (let t = await claim(); t; t = await claim()) {
      actual.push(t.jobId);
      await done(t);
    }
    assert.equal(actual.length, all.length);
    for (const [i, id] of actual.entries()) assert.equal(predicted.get(id), i + 1, `job started #${i + 1} had position ${predicted.get(id)}`);
  });

  it('a restart keeps every queue and its order', async () => {
    await open();
    const [a, b] = [await core.account('rs-a', 10), await core.account('rs-b', 10)];
    await setScheduling(core.db, 'rs-a', { weight: 3 });
    await submitMany(a, 10);
    await submitMany(b, 6, { priority: 'low' });
    await submit(b, { priority: 'high' });
    const first = (await claim())!;
    await done(first);
    const expected = new Map<string, number>();
    for (const r of await core.db.selectFrom('queue_tasks').select('job_id').execute()) expected.set(r.job_id, (await core.queue.position(r.job_id))!);
    await core.reopen();
    const order: string[] = [];
    for (let t = await claim(); t; t = await claim()) {
      order.push(t.jobId);
      await done(t);
    }
    assert.equal(order.length, 16);
    assert.deepEqual(
      order.map((id) => expected.get(id)),
      order.map((_, i) => i + 1),
      'after the restart, jobs start in the order their positions gave before it',
    );
  });

  it('spending caps: 50 racing submits against a daily cap are refused exactly at the cap (402 spending_cap_reached, with the reset time)', async () => {
    await open();
    const a = await core.account('cap-a', 10);
    await setScheduling(core.db, 'cap-a', { dailyCapMicros: 100_000 });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => submit(a)));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as EaselError);
    assert.equal(ok, Math.floor(100_000 / PRICE), `${ok} accepted`);
    assert.ok(refused.every((e) => e instanceof EaselError && e.status === 402 && e.code === 'spending_cap_reached'), refused.map((e) => e.code).join(','));
    const d = refused[0]!.details as Record<string, string>;
    assert.equal(d.cap, 'daily');
    assert.equal(d.cap_eur, '0.100000');
    const tomorrow = new Date();
    tomorrow.setUTCHours(24, 0, 0, 0);
    assert.equal(d.resets_at, tomorrow.toISOString().replace('.000Z', 'Z'));
    const held = await core.db.selectFrom('accounts').select('held_micros').where('id', '=', a).executeTakeFirstOrThrow();
    assert.equal(Number(held.held_micros), ok * PRICE, 'refused submits held nothing');
    // The monthly cap counts captured money too: capture two jobs, and the monthly cap below that refuses.
    await setScheduling(core.db, 'cap-a', { dailyCapMicros: null, monthlyCapMicros: ok * PRICE + PRICE - 1 });
    await assert.rejects(submit(a), (e: EaselError) => e.code === 'spending_cap_reached' && (e.details as Record<string, string>).cap === 'monthly');
    await setScheduling(core.db, 'cap-a', { monthlyCapMicros: null });
    await submit(a);
  });

  it('the queued limit counts waiting jobs only: 429 above it', async () => {
    await open({ maxQueuedJobs: 3, queue: { maxRunning: 1 } });
    const a = await core.account('ql-a', 10);
    await submitMany(a, 3);
    await assert.rejects(submit(a), (e: EaselError) => e.status === 429 && e.code === 'rate_limited');
    // A started job no longer waits: one more may queue.
    const t = (await claim())!;
    assert.equal((await core.jobs.start({ jobId: t.jobId, token: t.token })).outcome, 'started');
    await submit(a);
  });
});
