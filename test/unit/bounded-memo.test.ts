import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMemo } from '../../src/util/bounded-memo.js';
import { isoSeconds } from '../../src/util/time.js';

describe('BoundedMemo', () => {
  it('computes a key once, and never holds more than its bound', () => {
    const memo = new BoundedMemo<number, string>(3);
    let calls = 0;
    const make = (k: number) => (calls++, `v${k}`);
    assert.equal(memo.get(1, make), 'v1');
    assert.equal(memo.get(1, make), 'v1');
    assert.equal(calls, 1);
    for (const k of [2, 3, 4, 5]) memo.get(k, make);
    assert.ok((memo as unknown as { map: Map<number, string> }).map.size <= 3);
    assert.equal(memo.get(1, make), 'v1', 'recomputed the same after being dropped');
  });

  it('isoSeconds through it: second precision, the same string for every ms of a second', () => {
    assert.equal(isoSeconds(Date.UTC(2026, 10, 29, 12, 0, 5, 0)), '2026-11-29T12:00:05Z');
    assert.equal(isoSeconds(Date.UTC(2026, 10, 29, 12, 0, 5, 999)), '2026-11-29T12:00:05Z');
    assert.equal(isoSeconds(Date.UTC(1999, 0, 1, 0, 0, 0, 1)), '1999-01-01T00:00:00Z');
  });
});
