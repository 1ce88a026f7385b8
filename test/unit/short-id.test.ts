import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { newId, shortId } from '../../src/util/ids.js';

describe('shortId', () => {
  it('differs for jobs made within the same minute (the random tail, not the time prefix)', () => {
    const ids = Array.from({ length: 200 }, () => newId());
    assert.equal(new Set(ids.map((i) => i.slice(0, 8))).size <= 2, true, 'UUIDv7 prefixes are the same within a minute');
    assert.equal(new Set(ids.map(shortId)).size, ids.length);
    for (const i of ids) assert.match(shortId(i), /^[0-9a-f]{8}$/);
    assert.equal(shortId('0193ab12-3456-7abc-8def-0123456789ab'), '456789ab');
  });
});
