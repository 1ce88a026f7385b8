import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OperatorBlocklist, parse } from '../../src/moderation/blocklist.js';
import { RuleModerator } from '../../src/moderation/moderator.js';
import { normalizeForModeration } from '../../src/moderation/normalize.js';

const tmpFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bl-')), 'blocklist.txt');

describe('operator blocklist', () => {
  it('matches whole words and phrases after the usual folding, ignoring comments and blank lines', () => {
    const terms = parse('# brand terms\n\nZeppelin\n  acme   rocket  # a phrase\n');
    assert.deepEqual(terms.map((t) => t.term), ['zeppelin', 'acme rocket']);
    const match = (text: string) => terms.find((t) => t.re.test(normalizeForModeration(text)))?.term ?? null;
    assert.equal(match('A ZEPPELIN over Paris'), 'zeppelin');
    assert.equal(match('a zeppélin'), 'zeppelin');
    assert.equal(match('z3pp3lin'), 'zeppelin');
    assert.equal(match('an acme  rocket'), 'acme rocket');
    assert.equal(match('zeppelins'), null, 'part of another word');
    assert.equal(match('an acme of rockets'), null);
  });

  it('applies in every strictness, as a policy refusal (403), after the legal rules', () => {
    const file = tmpFile();
    fs.writeFileSync(file, 'zeppelin\nterrorist\n');
    const m = new RuleModerator(new OperatorBlocklist(file));
    for (const s of ['normal', 'liberal'] as const) assert.deepEqual(m.checkText('a zeppelin', s), { allowed: false, category: 'operator_blocklist', legal: false });
    assert.equal(m.checkText('terrorist recruitment propaganda', 'liberal').category, 'terrorism', 'a legal refusal outranks the blocklist');
    assert.equal(m.checkText('a gory zeppelin', 'normal').category, 'operator_blocklist');
  });

  it('is re-read when the file changes, and a missing file blocks nothing', async () => {
    const file = tmpFile();
    const list = new OperatorBlocklist(file);
    assert.equal(list.match('a zeppelin'), null);
    fs.writeFileSync(file, 'zeppelin\n');
    assert.equal(list.match('a zeppelin'), 'zeppelin');
    fs.writeFileSync(file, 'blimp\n');
    assert.equal(list.match('a zeppelin'), null);
    assert.equal(list.match('a blimp'), 'blimp');
    fs.rmSync(file);
    assert.equal(list.match('a blimp'), null);
  });

  it('the default moderator reads EASEL_MODERATION_BLOCKLIST', () => {
    const file = tmpFile();
    fs.writeFileSync(file, 'zeppelin\n');
    const prev = process.env.EASEL_MODERATION_BLOCKLIST;
    process.env.EASEL_MODERATION_BLOCKLIST = file;
    try {
      assert.equal(new RuleModerator().checkText('a zeppelin', 'normal').category, 'operator_blocklist');
    } finally {
      if (prev === undefined) delete process.env.EASEL_MODERATION_BLOCKLIST;
      else process.env.EASEL_MODERATION_BLOCKLIST = prev;
    }
  });
});
