import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FRESH_MS, HealthCache, STALE_MS } from '../../src/api/health-cache.js';

/** A check whose answers the test releases one by one, counting how often it ran. */
function gatedCheck() {
  let runs = 0;
  const pending: ((v: number) => void)[] = [];
  return {
    check: () => {
      runs += 1;
      return new Promise<number>((resolve) => pending.push(resolve));
    },
    release: (v: number) => pending.shift()!(v),
    get runs() {
      return runs;
    },
  };
}

describe('the shared /health check', () => {
  it('callers at once share one check; a fresh report is reused without checking', async () => {
    const g = gatedCheck();
    const cache = new HealthCache(g.check);
    const t0 = Date.now();
    const a = cache.current(t0);
    const b = cache.current(t0);
    assert.equal(g.runs, 1, 'one check for two callers');
    g.release(1);
    assert.deepEqual(await Promise.all([a, b]), [1, 1]);
    assert.equal(await cache.current(Date.now() + FRESH_MS / 2), 1);
    assert.equal(g.runs, 1, 'a fresh report is answered as is');
  });

  it('a stale report is answered at once while one fresh check runs; past STALE_MS callers wait for the check', async () => {
    const g = gatedCheck();
    const cache = new HealthCache(g.check);
    const first = cache.current();
    g.release(1);
    await first;
    const later = Date.now() + FRESH_MS + 10;
    assert.equal(await cache.current(later), 1, 'the stale report, at once');
    assert.equal(await cache.current(later), 1);
    assert.equal(g.runs, 2, 'one background check for both');
    g.release(2);
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.current(Date.now()), 2, 'the new report once it is in');
    // Too old to answer: the caller waits for the check it starts.
    const old = cache.current(Date.now() + STALE_MS + 10);
    let settled = false;
    void old.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'a report older than STALE_MS is not answered');
    g.release(3);
    assert.equal(await old, 3);
  });

  it('a failed check leaves the last report in place and the next caller checks again', async () => {
    let n = 0;
    const cache = new HealthCache(async () => {
      n += 1;
      if (n === 2) throw new Error('boom');
      return n;
    });
    assert.equal(await cache.current(), 1);
    const stale = Date.now() + FRESH_MS + 10;
    assert.equal(await cache.current(stale), 1, 'stale answered while the failing check runs');
    await new Promise((r) => setImmediate(r));
    assert.equal(await cache.current(Date.now() + STALE_MS + 10), 3, 'a later caller runs a new check');
  });
});
