import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdleCollector } from '../../src/util/idle-gc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The idle collection of src/util/idle-gc.ts: it runs once the work went idle for its delay and
 * enough external memory is held, never when work started again meanwhile — and it really hands
 * back the memory of dead Buffers (what V8 would otherwise keep until its heap asks).
 */
describe('IdleCollector', () => {
  it('collects dead Buffers once idle: external memory drops', async () => {
    let garbage: Buffer[] | null = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 1));
    const before = process.memoryUsage().external;
    garbage = null;
    assert.equal(garbage, null);
    const c = new IdleCollector(20, 16 * 1024 * 1024);
    c.idle();
    await sleep(120);
    assert.equal(c.runs, 1);
    const after = process.memoryUsage().external;
    assert.ok(before - after >= 48 * 1024 * 1024, `external ${Math.round(before / 2 ** 20)} MiB → ${Math.round(after / 2 ** 20)} MiB`);
  });

  it('work that starts before the delay cancels the collection', async () => {
    const c = new IdleCollector(50, 0);
    c.idle();
    await sleep(10);
    c.busy();
    await sleep(100);
    assert.equal(c.runs, 0);
    c.idle();
    await sleep(120);
    assert.equal(c.runs, 1);
  });

  it('nothing to hand back (external memory under the threshold): no collection', async () => {
    const c = new IdleCollector(10, Number.MAX_SAFE_INTEGER);
    c.idle();
    await sleep(60);
    assert.equal(c.runs, 0);
  });
});
