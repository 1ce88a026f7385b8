import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { storedResult } from '../../src/views/present-result.js';

/**
 * A job's stored result is parsed once per text and shared by every view of that job
 * (src/views/present-result.ts): a poll loop reads the same object, a changed text is read anew,
 * and no view can change what the next one reads.
 */
describe('stored result, parsed once per text', () => {
  const text = (n: number) => JSON.stringify({ kind: 'image', model: 'easel-sketch', cost_micros: n, image: { formats: { png: { key: `jobs/a/image.png` } } } });

  it('the same text of a job is read as the same frozen object; a new text of that job is read anew', () => {
    const a = storedResult({ id: 'job-1', result_json: text(1) });
    const again = storedResult({ id: 'job-1', result_json: text(1) });
    assert.equal(again, a, 'one parse serves the poll loop');
    assert.deepEqual(a, JSON.parse(text(1)));
    const changed = storedResult({ id: 'job-1', result_json: text(2) });
    assert.equal((changed as { cost_micros: number }).cost_micros, 2, 'a changed result is never served from the memo');
    assert.equal(storedResult({ id: 'job-2', result_json: text(1) }) === a, false, 'another job parses its own text');
    assert.equal(storedResult({ id: 'job-3', result_json: null }), null);
  });

  it('a view cannot change what the next view reads: the shared object is frozen all the way down', () => {
    const r = storedResult({ id: 'job-4', result_json: text(4) }) as unknown as { cost_micros: number; image: { formats: { png: { key: string } } } };
    assert.throws(() => {
      r.cost_micros = 5;
    }, TypeError);
    assert.throws(() => {
      r.image.formats.png.key = 'elsewhere';
    }, TypeError);
    assert.equal((storedResult({ id: 'job-4', result_json: text(4) }) as unknown as typeof r).image.formats.png.key, 'jobs/a/image.png');
  });

  it('a text above the memo cap is parsed on every read (and still frozen)', () => {
    const big = JSON.stringify({ kind: 'story', scenes: Array.from({ length: 400 }, (_, i) => ({ prompt: `scene ${i} `.repeat(8) })) });
    assert.ok(big.length > 16_384);
    const a = storedResult({ id: 'job-5', result_json: big });
    const b = storedResult({ id: 'job-5', result_json: big });
    assert.notEqual(a, b);
    assert.deepEqual(a, b);
    assert.ok(Object.isFrozen(a));
  });
});
