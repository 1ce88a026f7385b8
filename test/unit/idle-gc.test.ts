import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IdleCollector } from '../../src/util/idle-gc.js';
import { limitArenas, mallocTrim } from '../../src/util/glibc-malloc.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Whether this process runs on glibc (Node's own report says), asked independently of the module under test. */
const onGlibc = process.platform === 'linux' && Boolean((process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

/**
 * The idle collection of src/util/idle-gc.ts: it runs once the work went idle for its delay and
 * enough external memory is held, never when work started again meanwhile — and it really hands
 * back the memory of dead Buffers (what V8 would otherwise keep until its heap asks).
 */
describe('IdleCollector', () => {
  it('collects dead Buffers once idle: the memory of their contents is released', async () => {
    // Made and dropped in a function of their own, so no frame of this test still holds them.
    const before = ((): number => {
      const garbage = Array.from({ length: 64 }, () => Buffer.alloc(1024 * 1024, 1));
      return process.memoryUsage().arrayBuffers + garbage.length * 0;
    })();
    // Threshold 0: V8 may already have collected some of them on its own (64 MB is pressure); the collector still runs.
    const c = new IdleCollector(20, 0);
    c.idle();
    await sleep(120);
    assert.equal(c.runs, 1);
    // arrayBuffers is the memory held for Buffer contents; V8 releases it when the collection frees them
    // (possibly on a helper thread: give it a moment). `external` follows later, when V8 next adjusts it.
    let after = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 60 && before - after < 48 * 1024 * 1024; i++) {
      await sleep(50);
      after = process.memoryUsage().arrayBuffers;
    }
    assert.ok(before - after >= 48 * 1024 * 1024, `Buffer memory ${Math.round(before / 2 ** 20)} MiB → ${Math.round(after / 2 ** 20)} MiB`);
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

  it('then hands the free pages of malloc\'s arenas back to the system (glibc\'s malloc_trim; absent elsewhere)', async () => {
    if (!onGlibc) {
      assert.equal(mallocTrim(), null);
      return;
    }
    // 200 000 malloc'd blocks of 1 000 bytes (Buffer contents), one in 16 kept alive: the freed ones
    // sit between live ones, where free() can never return them — what libvips' buffers leave behind.
    const kept: Buffer[] = [];
    // All alive until the function returns (as a burst's buffers are until its jobs settle).
    ((): void => {
      const all: Buffer[] = [];
      for (let i = 0; i < 200_000; i++) {
        const b = Buffer.allocUnsafeSlow(1000).fill(1);
        all.push(b);
        if (i % 16 === 0) kept.push(b);
      }
    })();
    let held = 0;
    let handedBack = 0;
    const trimmed = new IdleCollector(10, 0, () => {
      held = process.memoryUsage().rss;
      const r = mallocTrim();
      handedBack = held - process.memoryUsage().rss;
      return r;
    });
    trimmed.idle();
    for (let i = 0; i < 40 && trimmed.trims === 0; i++) await sleep(25);
    assert.equal(trimmed.runs, 1, 'the collection ran first');
    assert.equal(trimmed.trims, 1, 'then the arenas were trimmed');
    assert.ok(handedBack >= 64 * 1024 * 1024, `malloc_trim handed back ${Math.round(handedBack / 2 ** 20)} MiB of ${Math.round(held / 2 ** 20)} MiB resident`);
    assert.equal(kept.length, 12_500);
  });

  it('glibc takes the arena limit set at start-up (mallopt; absent elsewhere)', () => {
    assert.equal(limitArenas(2), onGlibc ? true : null);
  });
});
