import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_JSON_DEPTH, jsonDepthExceeds } from '../../src/api/json-depth.js';
import { errorJson } from '../../src/api/error-handler.js';

describe('JSON depth limit and error bodies', () => {
  it('counts depth without recursion: 64 levels pass, 65 do not, a million levels are judged without overflowing', () => {
    const nest = (n: number, kind: 'a' | 'o') => {
      let v: unknown = kind === 'a' ? [] : {};
      for (let i = 1; i < n; i++) v = kind === 'a' ? [v] : { k: v };
      return v;
    };
    for (const kind of ['a', 'o'] as const) {
      assert.equal(jsonDepthExceeds(nest(MAX_JSON_DEPTH, kind)), false, kind);
      assert.equal(jsonDepthExceeds(nest(MAX_JSON_DEPTH + 1, kind)), true, kind);
      assert.equal(jsonDepthExceeds(nest(1_000_000, kind)), true, kind);
    }
    assert.equal(jsonDepthExceeds('x'), false);
    assert.equal(jsonDepthExceeds(null), false);
    // Wide is not deep: 100 000 siblings at level 2.
    assert.equal(jsonDepthExceeds({ list: Array.from({ length: 100_000 }, () => ({ a: 1 })) }), false);
  });

  it('an error body always serialises: details that cannot be (cyclic, BigInt, too deep) are left out', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const details of [cyclic, { n: 10n }, { deep }]) {
      const text = errorJson({ error: 'bad_request', message: 'm', details, request_id: 'r' });
      assert.deepEqual(JSON.parse(text), { error: 'bad_request', message: 'm', request_id: 'r' });
    }
    assert.deepEqual(JSON.parse(errorJson({ error: 'e', message: 'm', details: { a: 1 }, request_id: 'r' })).details, { a: 1 });
  });
});
