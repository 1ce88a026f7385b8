import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eurToMicros, microsToEur } from '../../src/util/money.js';

describe('money', () => {
  it('parses EUR strings to exact integer micros and back', () => {
    assert.equal(eurToMicros('0.045'), 45_000);
    assert.equal(eurToMicros('10'), 10_000_000);
    assert.equal(eurToMicros('0.000001'), 1);
    assert.equal(eurToMicros('123456789.999999'), 123_456_789_999_999);
    assert.equal(microsToEur(45_000), '0.045000');
    assert.equal(microsToEur(0), '0.000000');
    assert.equal(microsToEur(-1), '-0.000001');
    for (const s of ['0.100000', '9.955000', '1.000001']) assert.equal(microsToEur(eurToMicros(s)), s);
  });
  it('never accepts ambiguous or float-y input', () => {
    for (const bad of ['', 'abc', '1e3', '0.1234567', '1,5', '.5', 'NaN']) assert.throws(() => eurToMicros(bad), bad);
    assert.throws(() => microsToEur(0.5));
  });
  it('0.1 + 0.2 is exactly 0.3 in micros', () => {
    assert.equal(microsToEur(eurToMicros('0.1') + eurToMicros('0.2')), '0.300000');
  });
});
