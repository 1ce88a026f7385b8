import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Semaphore } from '../../src/util/semaphore.js';

describe('Semaphore', () => {
  it('lets at most `size` callers run at once, the others in arrival order, and frees the slot on a throw', async () => {
    const gate = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const tasks = Array.from({ length: 6 }, (_, i) =>
      gate
        .run(async () => {
          running++;
          peak = Math.max(peak, running);
          order.push(i);
          await new Promise<void>((r) => releases.push(r));
          running--;
          if (i === 1) throw new Error('boom');
          return i;
        })
        .catch((e: Error) => e.message),
    );
    for (let k = 0; k < 6; k++) {
      while (releases.length === 0) await new Promise((r) => setImmediate(r));
      assert.ok(gate.inUse <= 2);
      releases.shift()!();
    }
    assert.deepEqual(await Promise.all(tasks), [0, 'boom', 2, 3, 4, 5]);
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(gate.inUse, 0);
  });
});
