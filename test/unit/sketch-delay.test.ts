import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { abortableDelay } from '../../src/providers/sketch/delay.js';

describe('sketch provider: simulated latency', () => {
  it('removes its abort listener when the delay ends (no MaxListenersExceededWarning over a story)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const ctrl = new AbortController();
    for (let i = 0; i < 30; i++) await abortableDelay(1, ctrl.signal);
    await Promise.all(Array.from({ length: 5 }, () => abortableDelay(2, ctrl.signal)));
    assert.equal(getEventListeners(ctrl.signal, 'abort').length, 0);
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning'), []);
  });

  it('still rejects when the signal aborts mid-delay', async () => {
    const ctrl = new AbortController();
    const p = abortableDelay(10_000, ctrl.signal);
    ctrl.abort();
    await assert.rejects(p, /aborted/);
    assert.equal(getEventListeners(ctrl.signal, 'abort').length, 0);
  });
});
