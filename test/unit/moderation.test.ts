import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RuleModerator } from '../../src/moderation/moderator.js';
import { normalizeForModeration } from '../../src/moderation/normalize.js';

const m = new RuleModerator();

describe('rule moderator', () => {
  it('allows ordinary prompts in both strictness modes', () => {
    for (const p of ['a red fox in a snowy forest', 'a children’s book illustration of a dragon', 'a kid flying a kite', 'sunset over Essex', 'the 1024x1024 logo of a bakery']) {
      assert.deepEqual(m.checkText(p, 'normal'), { allowed: true }, p);
      assert.deepEqual(m.checkText(p, 'liberal'), { allowed: true }, p);
    }
  });
  it('brand-safety rules apply only at normal strictness', () => {
    const v = m.checkText('a gory battlefield', 'normal');
    assert.equal(v.allowed, false);
    assert.equal(v.category, 'graphic_violence');
    assert.equal(v.legal, false);
    assert.equal(m.checkText('a gory battlefield', 'liberal').allowed, true);
    assert.equal(m.checkText('a nude figure study', 'normal').category, 'sexual');
    assert.equal(m.checkText('a nude figure study', 'liberal').allowed, true);
  });
  it('legal rules apply in every strictness', () => {
    for (const s of ['normal', 'liberal'] as const) {
      const v = m.checkText('naked 12 year old', s);
      assert.equal(v.allowed, false);
      assert.equal(v.legal, true);
      assert.equal(v.category, 'sexual_minors');
    }
  });
  it('folds case, accents, leetspeak, separators and zero-width characters', () => {
    assert.equal(normalizeForModeration('GÓRE'), 'gore');
    assert.equal(normalizeForModeration('g0r3'), 'gore');
    assert.equal(normalizeForModeration('g.o.r.e'), 'gore');
    assert.equal(normalizeForModeration('go\u200bre'), 'gore');
    assert.equal(m.checkText('a N.U.D.E portrait', 'normal').allowed, false);
    assert.equal(m.checkText('p0rn', 'normal').allowed, false);
  });
});
