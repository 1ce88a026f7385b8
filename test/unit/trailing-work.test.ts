import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TrailingWork } from '../../src/pipelines/trailing-work.js';
import { mapLimit } from '../../src/util/map-limit.js';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

describe('mapLimit', () => {
  it('keeps at most `limit` calls in flight and returns results in input order', async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      peak = Math.max(peak, ++inFlight);
      await tick(n);
      inFlight--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30]);
    assert.equal(peak, 2);
  });

  it('after a failure starts nothing new but waits for the calls already running', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    await assert.rejects(
      mapLimit([1, 2, 3, 4], 2, async (n) => {
        started.push(n);
        if (n === 1) throw new Error('boom');
        await tick(20);
        finished.push(n);
      }),
      /boom/,
    );
    assert.deepEqual(finished, [2], 'the sibling in flight finished before the error surfaced');
    assert.ok(!started.includes(4));
  });
});

describe('TrailingWork', () => {
  it('holds deferred tasks until release, then runs them at once; settle waits for all', async () => {
    const log: string[] = [];
    const w = new TrailingWork();
    w.defer(async () => {
      await tick(15);
      log.push('slow');
    });
    w.defer(async () => void log.push('fast'));
    await tick(20);
    assert.deepEqual(log, [], 'nothing runs before release (the next provider call is not issued yet)');
    w.release();
    await w.settle();
    assert.deepEqual(log, ['fast', 'slow']);
  });

  it('settle starts what is still deferred', async () => {
    const log: string[] = [];
    const w = new TrailingWork();
    w.defer(async () => void log.push('last image'));
    await w.settle();
    assert.deepEqual(log, ['last image']);
  });

  it('keeps the first failure (never an unhandled rejection), starts nothing after it, rethrows it', async () => {
    const w = new TrailingWork();
    let ran = false;
    w.defer(async () => {
      throw new Error('record failed');
    });
    w.release();
    await tick();
    assert.throws(() => w.check(), /record failed/);
    w.defer(async () => {
      ran = true;
    });
    await assert.rejects(w.settle(), /record failed/);
    assert.equal(ran, false);
  });
});
