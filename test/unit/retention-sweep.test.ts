import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { DeleteBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { openCore, type Core } from '../helpers/core.js';
import { MODE, S3_CREDS, S3_ENDPOINT } from '../helpers/server.js';
import { seedEndedJobs, type SeededJob } from '../helpers/expired-jobs.js';
import { FsBlobStore } from '../../src/blob/fs-store.js';
import { S3BlobStore } from '../../src/blob/s3-store.js';
import { UrlSigner } from '../../src/blob/url-signer.js';
import type { BlobStore } from '../../src/blob/port.js';
import { RetentionSweeper, SWEEP_BATCH } from '../../src/jobs/retention.js';

/**
 * The sweeper against the mode's real store and real blob storage (a directory, or a bucket on
 * the S3 server), with faults injected by a wrapper around the real blob store: whatever fails,
 * no job is marked expired while a file of it remains, and a healthy sweep finishes the rest.
 */
describe(`retention sweep: batches, failures, files first (${MODE})`, () => {
  let core: Core;
  let blob: S3BlobStore | FsBlobStore;
  let dir: string;
  const bucket = `easel-sweep-${crypto.randomBytes(5).toString('hex')}`;
  const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
  const log = pino({ level: 'silent' });

  before(async () => {
    core = await openCore();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-sweep-'));
    if (MODE === 'scaleout') {
      const s = new S3BlobStore({ endpoint: S3_ENDPOINT, bucket, region: 'us-east-1', accessKeyId: S3_CREDS.accessKeyId, secretAccessKey: S3_CREDS.secretAccessKey, forcePathStyle: true, publicEndpoint: null });
      await s.ensureBucket();
      blob = s;
    } else {
      blob = new FsBlobStore(dir, new UrlSigner(crypto.randomBytes(32)), () => 'http://127.0.0.1');
    }
  });
  after(async () => {
    await core.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (MODE === 'scaleout') {
      await blob.deleteMany(await allKeys());
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    }
    s3.destroy();
  });

  /** Every key stored, read from the storage itself (not through the code under test). */
  async function allKeys(): Promise<string[]> {
    if (MODE === 'scaleout') {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) keys.push(o.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    }
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => f.split(path.sep).join('/'));
  }

  async function expiredIds(ids: string[]): Promise<Set<string>> {
    const rows = await core.db.selectFrom('jobs').select('id').where('id', 'in', ids).where('result_expired_at', 'is not', null).execute();
    return new Set(rows.map((r) => r.id));
  }

  /** The invariant: a job marked expired has no file left; returns the marked ones. */
  async function assertNoMarkedJobKeepsFiles(jobs: SeededJob[]): Promise<Set<string>> {
    const marked = await expiredIds(jobs.map((j) => j.id));
    const stored = new Set(await allKeys());
    for (const j of jobs) {
      if (marked.has(j.id)) for (const k of j.keys) assert.ok(!stored.has(k), `job ${j.id} is marked expired but ${k} is still stored`);
    }
    return marked;
  }

  it('a backlog of more than one batch is swept in one pass: every file gone, every job marked, jobs not due untouched', async () => {
    const acc = await core.account('sweep-backlog');
    const now = Date.now();
    // Ids are time-ordered: jobs not yet due are made between two groups of due ones, so their folders lie inside the span S3 walks.
    const first = await seedEndedJobs(core.db, blob, { accountId: acc, count: SWEEP_BATCH - 60, expiresAt: now - 1000, inputEvery: 50, files: 1 });
    const later = await seedEndedJobs(core.db, blob, { accountId: acc, count: 20, expiresAt: now + 3_600_000, files: 1 });
    const due = [...first, ...(await seedEndedJobs(core.db, blob, { accountId: acc, count: 100, expiresAt: now - 1000, files: 1 }))];
    const swept = await new RetentionSweeper(core.db, blob, log, 60_000).sweep(now);
    assert.equal(swept, due.length);
    const stored = new Set(await allKeys());
    for (const j of due) for (const k of j.keys) assert.ok(!stored.has(k), `${k} was deleted`);
    assert.equal((await expiredIds(due.map((j) => j.id))).size, due.length);
    for (const j of later) for (const k of j.keys) assert.ok(stored.has(k), `${k} of a job not yet due is kept`);
    assert.equal((await expiredIds(later.map((j) => j.id))).size, 0);
    // A second pass finds nothing more to do.
    assert.equal(await new RetentionSweeper(core.db, blob, log, 60_000).sweep(now), 0);
  });

  it('deletePrefixes over a sparse span (folders far apart among others) deletes exactly the folders asked for', async () => {
    // 3 folders asked for, 1 100 files of other folders between them: more than a page of listing.
    const run = `sparse-${crypto.randomBytes(3).toString('hex')}`;
    const asked = ['a', 'm', 'z'].map((x) => `${run}/${x}`);
    const others = Array.from({ length: 1100 }, (_, i) => `${run}/${i < 550 ? 'b' : 'n'}${String(i).padStart(4, '0')}/f.json`);
    const mine = asked.flatMap((f) => [`${f}/one.json`, `${f}/two.json`]);
    for (let i = 0; i < others.length + mine.length; i += 50) {
      await Promise.all([...others, ...mine].slice(i, i + 50).map((k) => blob.put(k, Buffer.from('{}'), 'application/json')));
    }
    await blob.deletePrefixes([...asked].reverse());
    const stored = new Set((await allKeys()).filter((k) => k.startsWith(`${run}/`)));
    for (const k of mine) assert.ok(!stored.has(k), `${k} was deleted`);
    assert.equal(stored.size, others.length, 'every file of the other folders is kept');
    await blob.deletePrefixes([`${run}/b`, `${run}/n`].flatMap((p) => others.filter((k) => k.startsWith(p)).map((k) => k.slice(0, k.lastIndexOf('/')))));
    assert.equal((await allKeys()).filter((k) => k.startsWith(`${run}/`)).length, 0);
  });

  it('a batch whose delete fails midway marks nothing whose files remain; the jobs that can be swept are, one at a time; the next pass finishes', async () => {
    const acc = await core.account('sweep-fault');
    const now = Date.now();
    const jobs = await seedEndedJobs(core.db, blob, { accountId: acc, count: 60, expiresAt: now - 1000, files: 1 });
    const poisoned = new Set(jobs.filter((_, i) => i % 7 === 3).map((j) => `jobs/${j.id}`));
    // The batched delete gets through half of the folders, then the store fails; a poisoned folder always fails.
    const faulty: BlobStore = Object.assign(Object.create(blob) as BlobStore, {
      deletePrefixes: async (prefixes: readonly string[]) => {
        if (prefixes.some((p) => poisoned.has(p))) {
          await blob.deletePrefixes(prefixes.filter((p) => !poisoned.has(p)).slice(0, Math.floor(prefixes.length / 2)));
          throw new Error('injected: the object store refused a delete');
        }
        await blob.deletePrefixes(prefixes);
      },
    });
    const swept = await new RetentionSweeper(core.db, faulty, log, 60_000).sweep(now);
    assert.equal(swept, jobs.length - poisoned.size, 'every job but the poisoned ones was swept one at a time');
    const marked = await assertNoMarkedJobKeepsFiles(jobs);
    const stored = new Set(await allKeys());
    for (const j of jobs.filter((j) => poisoned.has(`jobs/${j.id}`))) {
      assert.ok(!marked.has(j.id), 'a job whose files could not be deleted is not marked');
      for (const k of j.keys) assert.ok(stored.has(k), `${k} is still there for the next pass`);
    }
    assert.equal(await new RetentionSweeper(core.db, blob, log, 60_000).sweep(now), poisoned.size);
    assert.equal((await assertNoMarkedJobKeepsFiles(jobs)).size, jobs.length);
  });

  it('an unreachable store ends the pass after one try: nothing is marked, files stay, the next pass sweeps them', async () => {
    const acc = await core.account('sweep-down');
    const now = Date.now();
    const jobs = await seedEndedJobs(core.db, blob, { accountId: acc, count: 30, expiresAt: now - 1000, files: 1 });
    let calls = 0;
    const down: BlobStore = Object.assign(Object.create(blob) as BlobStore, {
      deletePrefixes: async () => {
        calls++;
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      },
    });
    assert.equal(await new RetentionSweeper(core.db, down, log, 60_000).sweep(now), 0);
    assert.equal(calls, 2, 'the batch, then the first job alone: the rest would fail the same way');
    assert.equal((await assertNoMarkedJobKeepsFiles(jobs)).size, 0);
    const stored = new Set(await allKeys());
    for (const j of jobs) for (const k of j.keys) assert.ok(stored.has(k));
    assert.equal(await new RetentionSweeper(core.db, blob, log, 60_000).sweep(now), jobs.length);
    assert.equal((await assertNoMarkedJobKeepsFiles(jobs)).size, jobs.length);
  });
});
