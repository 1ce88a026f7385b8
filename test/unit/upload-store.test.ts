import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openCore, type Core } from '../helpers/core.js';
import { MODE } from '../helpers/server.js';
import { FsBlobStore } from '../../src/blob/fs-store.js';
import { UrlSigner } from '../../src/blob/url-signer.js';
import { UploadQuota } from '../../src/uploads/quota.js';
import { sweepUploads } from '../../src/uploads/retention.js';
import { EaselError } from '../../src/errors.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe(`uploads in the store: daily quota and retention sweep (${MODE})`, () => {
  let core: Core;
  let dir: string;
  let blob: FsBlobStore;

  before(async () => {
    core = await openCore();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-upload-store-'));
    blob = new FsBlobStore(dir, new UrlSigner(crypto.randomBytes(32)), () => 'http://127.0.0.1');
  });
  after(async () => {
    await core.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the quota counts the uploads of the current UTC day only, and refuses the one past it', async () => {
    const acc = await core.account('quota-day');
    const quota = new UploadQuota(core.db, MODE === 'scaleout' ? 'postgres' : 'sqlite', { dailyCount: 2, dailyBytes: 1000 });
    const midnight = Date.UTC(2026, 5, 10);
    await quota.record({ id: 'u-yesterday', accountId: acc, key: `uploads/${acc}/a.png`, sizeBytes: 900 }, midnight - 1);
    // Yesterday's 900 bytes count for nothing today.
    await quota.record({ id: 'u-today-1', accountId: acc, key: `uploads/${acc}/b.png`, sizeBytes: 600 }, midnight);
    await assert.rejects(quota.record({ id: 'u-today-x', accountId: acc, key: `uploads/${acc}/x.png`, sizeBytes: 401 }, midnight + HOUR), (e: EaselError) => {
      assert.equal(e.status, 429);
      assert.equal(e.details?.quota, 'upload_bytes');
      assert.equal(e.headers?.['retry-after'], String((DAY - HOUR) / 1000));
      return true;
    });
    await quota.record({ id: 'u-today-2', accountId: acc, key: `uploads/${acc}/c.png`, sizeBytes: 400 }, midnight + HOUR);
    await assert.rejects(quota.precheck(acc, 0, midnight + 2 * HOUR), (e: EaselError) => e.status === 429 && e.details?.quota === 'upload_count');
    const ids = (await core.db.selectFrom('uploads').select('id').where('account_id', '=', acc).execute()).map((r) => r.id).sort();
    assert.deepEqual(ids, ['u-today-1', 'u-today-2', 'u-yesterday'], 'nothing written for a refused upload');
  });

  it('the sweeper deletes expired blobs; a row of the current day stays (marked) until the day ends', async () => {
    const acc = await core.account('sweep');
    const quota = new UploadQuota(core.db, MODE === 'scaleout' ? 'postgres' : 'sqlite', { dailyCount: 0, dailyBytes: 0 });
    const midnight = Date.UTC(2026, 5, 20);
    const put = async (id: string, at: number) => {
      const key = `uploads/${acc}/${id}.png`;
      await quota.record({ id, accountId: acc, key, sizeBytes: 3 }, at);
      await blob.put(key, Buffer.from('png'));
      return key;
    };
    const old = await put('s-old', midnight - 3 * HOUR); // yesterday
    const early = await put('s-early', midnight + HOUR); // today, past a 2 h retention at 04:00
    const fresh = await put('s-fresh', midnight + 3 * HOUR); // today, within it
    const retention = 2 * HOUR;
    const n = await sweepUploads(core.db, blob, retention, midnight + 4 * HOUR);
    assert.ok(n >= 2);
    assert.deepEqual([await blob.exists(old), await blob.exists(early), await blob.exists(fresh)], [false, false, true]);
    const rows = async () => Object.fromEntries((await core.db.selectFrom('uploads').select(['id', 'blob_deleted_at']).where('account_id', '=', acc).execute()).map((r) => [r.id, r.blob_deleted_at === null ? 'kept' : 'marked']));
    assert.deepEqual(await rows(), { 's-early': 'marked', 's-fresh': 'kept' });
    // Idempotent: a second sweeper at the same time finds nothing more.
    assert.equal(await sweepUploads(core.db, blob, retention, midnight + 4 * HOUR), 0);
    // The next day: the marked row goes, the fresh one's blob and row go too.
    await sweepUploads(core.db, blob, retention, midnight + DAY + HOUR);
    assert.deepEqual(await rows(), {});
    assert.equal(await blob.exists(fresh), false);
  });
});
