import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EaselProcess, MODE, download, waitFor } from '../helpers/server.js';
import { listBlobs, queryDb } from '../helpers/store-snapshot.js';
import { noise, quadrants } from '../helpers/images.js';
import { uploadBytes } from '../helpers/upload.js';

/** Seconds from now to the next UTC midnight, as Retry-After should say. */
function toMidnightS(): number {
  const d = new Date();
  return (Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) - Date.now()) / 1000;
}

function assertQuota429(res: { status: number; headers: Headers; body: any; text: string }, quota: string, limit: number): void {
  assert.equal(res.status, 429, res.text);
  assert.equal(res.body.error, 'rate_limited');
  assert.ok(res.body.request_id);
  assert.equal(res.body.details.quota, quota);
  assert.equal(res.body.details.limit, limit);
  const retry = Number(res.headers.get('retry-after'));
  assert.ok(Math.abs(retry - toMidnightS()) < 30, `Retry-After ${retry} s, next UTC midnight in ${toMidnightS()} s`);
  assert.equal(Date.parse(res.body.details.resets_at) % 86_400_000, 0, 'resets at a UTC midnight');
}

const storedUploads = async (srv: EaselProcess) => [...(await listBlobs(srv, 'uploads')).keys()];

describe(`POST /v1/upload daily quotas (${MODE})`, () => {
  let srv: EaselProcess;
  const COUNT = 3;
  const BYTES = 150_000;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_UPLOAD_DAILY_COUNT: String(COUNT), EASEL_UPLOAD_DAILY_BYTES: String(BYTES) } });
  });
  after(() => srv.stop());

  it('count: the upload past EASEL_UPLOAD_DAILY_COUNT is 429 with Retry-After to UTC midnight, and nothing is stored', async () => {
    const key = await srv.createKey('counted', '1');
    const png = await quadrants();
    // A refused upload (415) is not counted.
    assert.equal((await uploadBytes(srv.baseUrl, key, Buffer.from('not an image at all'))).status, 415);
    for (let i = 0; i < COUNT; i++) assert.equal((await uploadBytes(srv.baseUrl, key, png)).status, 200);
    const before_ = await storedUploads(srv);
    const refused = await uploadBytes(srv.baseUrl, key, png);
    assertQuota429(refused, 'upload_count', COUNT);
    assert.equal(refused.body.details.used_count, COUNT);
    assert.deepEqual(await storedUploads(srv), before_, 'no file stored for the refused upload');
    // Another account has its own quota.
    const other = await srv.createKey('other', '1');
    assert.equal((await uploadBytes(srv.baseUrl, other, png)).status, 200);
  });

  it('bytes: a file that does not fit in what is left of EASEL_UPLOAD_DAILY_BYTES is 429; a smaller one still fits', async () => {
    const key = await srv.createKey('heavy', '1');
    const big = await noise(200, 200); // ~120 kB of incompressible pixels
    assert.ok(big.length > BYTES / 2 && big.length < BYTES, `${big.length} bytes`);
    assert.equal((await uploadBytes(srv.baseUrl, key, big)).status, 200);
    const before_ = await storedUploads(srv);
    const refused = await uploadBytes(srv.baseUrl, key, big);
    assertQuota429(refused, 'upload_bytes', BYTES);
    assert.equal(refused.body.details.used_bytes, big.length);
    assert.deepEqual(await storedUploads(srv), before_, 'no file stored for the refused upload');
    const small = await quadrants();
    assert.ok(big.length + small.length <= BYTES);
    assert.equal((await uploadBytes(srv.baseUrl, key, small)).status, 200, 'the quota is bytes, not a refusal of the account');
  });

  it('concurrent uploads of one account cannot pass the count together', async () => {
    const key = await srv.createKey('racer', '1');
    const png = await quadrants();
    const results = await Promise.all(Array.from({ length: 8 }, () => uploadBytes(srv.baseUrl, key, png)));
    const ok = results.filter((r) => r.status === 200).length;
    assert.equal(ok, COUNT, results.map((r) => r.status).join(','));
    for (const r of results.filter((x) => x.status !== 200)) assertQuota429(r, 'upload_count', COUNT);
  });
});

describe(`POST /v1/upload retention (${MODE})`, () => {
  let srv: EaselProcess;
  const RETENTION_H = 0.002; // 7.2 s

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_UPLOAD_RETENTION_H: String(RETENTION_H), EASEL_RETENTION_SWEEP_MS: '250', EASEL_UPLOAD_DAILY_COUNT: '2' } });
  });
  after(() => srv.stop());

  it('the sweeper deletes an upload after EASEL_UPLOAD_RETENTION_H: its URL answers 404, and the day\'s quota still counts it', async () => {
    const key = await srv.createKey('short-lived', '1');
    const png = await quadrants();
    const up = await uploadBytes(srv.baseUrl, key, png);
    assert.equal(up.status, 200, up.text);
    assert.equal((await download(up.body.upload_url)).status, 200);
    const stored = await storedUploads(srv);
    assert.equal(stored.length, 1);
    await waitFor(async () => (await storedUploads(srv)).length === 0, 60_000, 250);
    assert.equal((await download(up.body.upload_url)).status, 404, 'the signed URL outlives the file: 404');
    const rows = await queryDb(srv, 'select id, blob_deleted_at from uploads');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.id, up.body.upload_id);
    assert.ok(rows[0]!.blob_deleted_at, 'the row stays, marked, until its UTC day ends');
    // Deleting the file does not give the upload back to the day's quota (2 a day here).
    assert.equal((await uploadBytes(srv.baseUrl, key, png)).status, 200);
    assertQuota429(await uploadBytes(srv.baseUrl, key, png), 'upload_count', 2);
  });
});
