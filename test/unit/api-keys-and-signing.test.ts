import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KEY_RE, generateApiKey, hashApiKey, keysMatch } from '../../src/accounts/api-keys.js';
import { UrlSigner } from '../../src/blob/url-signer.js';

describe('API keys', () => {
  it('are esl_ + 43 base62 characters (≈256 bits), all different', () => {
    const keys = new Set(Array.from({ length: 2000 }, generateApiKey));
    assert.equal(keys.size, 2000);
    for (const k of keys) assert.match(k, KEY_RE);
    assert.ok(43 * Math.log2(62) >= 190);
  });
  it('use every base62 character roughly evenly (no modulo bias)', () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) for (const c of generateApiKey().slice(4)) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 62);
    const expected = (3000 * 43) / 62;
    for (const [c, n] of counts) assert.ok(Math.abs(n - expected) < expected * 0.2, `${c}: ${n}`);
  });
  it('match only their own hash', () => {
    const k = generateApiKey();
    assert.ok(keysMatch(hashApiKey(k), k));
    assert.ok(!keysMatch(hashApiKey(k), generateApiKey()));
  });
});

describe('URL signer', () => {
  const s = new UrlSigner(Buffer.from('x'.repeat(32)));
  it('accepts its own signature until expiry and refuses any change', () => {
    const exp = Date.now() + 60_000;
    const sig = s.sign('jobs/a/image.png', exp);
    const expS = String(Math.floor(exp / 1000));
    assert.equal(s.verify('jobs/a/image.png', expS, sig), 'ok');
    assert.equal(s.verify('jobs/a/image.jpg', expS, sig), 'invalid');
    assert.equal(s.verify('jobs/a/image.png', String(Number(expS) + 1), sig), 'invalid');
    assert.equal(s.verify('jobs/a/image.png', expS, sig.slice(0, -1) + (sig.endsWith('A') ? 'B' : 'A')), 'invalid');
    assert.equal(s.verify('jobs/a/image.png', undefined, sig), 'invalid');
    assert.equal(s.verify('jobs/a/image.png', expS, sig, exp + 2000), 'expired');
    assert.equal(new UrlSigner(Buffer.from('y'.repeat(32))).verify('jobs/a/image.png', expS, sig), 'invalid');
  });
});
