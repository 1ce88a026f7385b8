import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { callTimeout } from '../../src/providers/vendor/call-timeout.js';

v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Collects garbage every 20 ms for `ms`, then says whether `signal` aborted meanwhile. */
async function underGc(signal: AbortSignal, ms: number): Promise<boolean> {
  let fired = false;
  signal.addEventListener('abort', () => (fired = true));
  const t = setInterval(gc, 20);
  await new Promise((r) => setTimeout(r, ms));
  clearInterval(t);
  return fired;
}

/**
 * A vendor call's deadline must fire however often the garbage is collected: under the full suite
 * a stalled OpenAI stream ran past its timeout because `AbortSignal.any([signal,
 * AbortSignal.timeout(ms)])` lets the timeout signal be collected (Node 20: with `underGc` below,
 * that composite signal never aborts).
 */
describe('callTimeout', () => {
  it('fires at its time under constant garbage collection, and the reason says timeout', async () => {
    const outer = new AbortController();
    const d = callTimeout(200, outer.signal);
    assert.equal(await underGc(d.signal, 800), true);
    assert.equal((d.signal.reason as Error).name, 'TimeoutError');
    d.release();
  });

  it("follows the caller's signal, and once released never fires", async () => {
    const outer = new AbortController();
    const d = callTimeout(10_000, outer.signal);
    outer.abort(new Error('stop'));
    assert.equal(d.signal.aborted, true);
    assert.equal((d.signal.reason as Error).message, 'stop');
    const quiet = callTimeout(100, undefined);
    quiet.release();
    assert.equal(await underGc(quiet.signal, 300), false);
  });

});
