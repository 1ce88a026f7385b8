import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openCore, type Core, type CoreOptions } from '../helpers/core.js';
import { countersMatch } from '../helpers/queue-counters.js';
import { MODE } from '../helpers/server.js';
import type { QueueTask } from '../../src/queue/port.js';

/**
 * The queue's two lanes (src/queue/lanes.ts) on the mode's real store: paid generation work and free
 * processing are claimed by different worker slots, each lane with its own per-account running limit
 * (EASEL_MAX_CONCURRENT_JOBS, EASEL_MAX_CONCURRENT_FREE) and its own fair schedule. What is checked is
 * what a client would see: which job a slot of each lane starts, and the position a waiting job shows.
 */
describe(`work lanes: free processing and paid work claimed apart (${MODE === 'scaleout' ? 'PostgreSQL' : 'SQLite'})`, () => {
  let core: Core;
  const cores: Core[] = [];
  const open = async (o: CoreOptions = {}) => {
    core = await openCore({ leaseMs: 60_000, ...o, queue: { maxRunning: 4, maxRunningFree: 1, ...o.queue } });
    cores.push(core);
    return core;
  };
  afterEach(async () => {
    if (core) await countersMatch(core);
    await Promise.all(cores.splice(0).map((c) => c.close()));
  });

  const paid = (accountId: string) => core.submit(accountId, 3_000, 'image');
  const free = (accountId: string) => core.submit(accountId, 0, 'process_convert');
  const claimPaid = () => core.queue.claim('paid-slot', 60_000, 'default');
  const claimFree = () => core.queue.claim('free-slot', 60_000, 'process');
  const done = (t: QueueTask) => core.db.transaction().execute((trx) => core.queue.complete(trx, t.jobId));

  it('a paid slot never starts free work and a free slot never starts paid work, whatever waits', async () => {
    await open();
    const g = await core.account('lanes-g', 1);
    const b = await core.account('lanes-b', 1);
    const freeJobs = [await free(g), await free(g)];
    assert.equal(await claimPaid(), null, 'only free work waits: the paid slot finds nothing');
    const b1 = await paid(b);
    const p = await claimPaid();
    assert.equal(p?.jobId, b1);
    assert.equal(p?.queue, 'default');
    assert.equal(await claimPaid(), null, 'the free jobs are still not the paid slot\'s');
    const f = await claimFree();
    assert.ok(f && freeJobs.includes(f.jobId));
    assert.equal(f.queue, 'process');
    await done(p!);
    await done(f);
  });

  it('per-account free limit: G runs one free job at a time; B\'s free job and G\'s own paid jobs are not held up by it', async () => {
    await open();
    const g = await core.account('limit-g', 1);
    const b = await core.account('limit-b', 1);
    const gFree = [await free(g), await free(g), await free(g)];
    const first = (await claimFree())!;
    assert.equal(first.jobId, gFree[0]);
    assert.equal(await claimFree(), null, 'G is at EASEL_MAX_CONCURRENT_FREE=1: its other free jobs wait');
    const bFree = await free(b);
    assert.equal((await claimFree())?.jobId, bFree, 'another account\'s free job starts beside G\'s');
    // G's paid work has its own limit (4): G's running free job takes none of it.
    const gPaid = [await paid(g), await paid(g)];
    assert.deepEqual([(await claimPaid())?.jobId, (await claimPaid())?.jobId], gPaid);
    await done(first);
    assert.equal((await claimFree())?.jobId, gFree[1], 'once G\'s free job ended, its next one starts');
  });

  it('EASEL_DISPATCH=fifo orders the paid lane only: the free lane keeps its per-account limit', async () => {
    await open({ queue: { dispatch: 'fifo' } });
    const g = await core.account('fifo-g', 1);
    await free(g);
    await free(g);
    assert.ok(await claimFree());
    assert.equal(await claimFree(), null);
  });

  it('each lane has its own schedule: G\'s free jobs do not push its paid jobs behind B\'s', async () => {
    await open();
    const g = await core.account('sched-g', 1);
    const b = await core.account('sched-b', 1);
    // B has paid work running throughout, so the paid schedule has a current position G joins at.
    await paid(b);
    const bRunning = (await claimPaid())!;
    // G runs 5 free jobs first (its free-lane pass advances by 5).
    for (let i = 0; i < 5; i++) {
      await free(g);
      await done((await claimFree())!);
    }
    const owner = new Map<string, string>();
    for (let i = 0; i < 3; i++) {
      owner.set(await paid(g), 'g');
      owner.set(await paid(b), 'b');
    }
    const order: string[] = [];
    for (let t = await claimPaid(); t; t = await claimPaid()) {
      order.push(owner.get(t.jobId)!);
      await done(t);
    }
    await done(bRunning);
    assert.equal(order.length, 6);
    // Alternating (which account goes first is the tie-break): with one shared schedule G would come last, three times.
    for (let i = 1; i < order.length; i++) assert.notEqual(order[i], order[i - 1], `paid claims alternate between G and B: ${order.join(',')}`);
  });

  it('a waiting job\'s position counts only its own lane', async () => {
    await open();
    const g = await core.account('pos-g', 1);
    const b = await core.account('pos-b', 1);
    for (let i = 0; i < 3; i++) await paid(b);
    const gFree = await free(g);
    const bFree = await free(b);
    assert.equal(await core.queue.position(gFree), 1, 'three paid jobs wait, none of them in the free lane');
    assert.equal(await core.queue.position(bFree), 2, 'behind G\'s free job only');
    const bPaid = await paid(b);
    assert.equal(await core.queue.position(bPaid), 4, 'behind B\'s own three paid jobs, not the free ones');
  });
});
