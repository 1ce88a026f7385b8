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
import { postgresReader, sqliteReader, type Reader } from '../../src/store/reader.js';
import { verifyDeployment, type Problem } from '../../src/backup/verify.js';
import { jobBlobKeys } from '../../src/backup/blob-refs.js';

/**
 * `easel verify`'s core on the mode's real store (a SQLite file, or PostgreSQL) with pages of 2 rows,
 * so every check crosses page boundaries: what it reports is exactly the planted problems.
 */
describe(`verifyDeployment across pages (${MODE} store)`, () => {
  let core: Core;
  let reader: Reader;
  const blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-verify-blobs-'));
  const blob = new FsBlobStore(blobDir, new UrlSigner(crypto.randomBytes(32)), () => '');

  before(async () => {
    core = await openCore();
    reader = core.location.databaseUrl ? await postgresReader(core.location.databaseUrl) : sqliteReader(core.location.sqliteFile!);
  });
  after(async () => {
    await reader.close();
    await core.close();
    fs.rmSync(blobDir, { recursive: true, force: true });
  });

  const run = async () => {
    const problems: Problem[] = [];
    const summary = await verifyDeployment(reader, blob, { pageSize: 2, uploadRetentionMs: 86_400_000, onProblem: (p) => problems.push(p) });
    return { summary, problems };
  };

  it('finds exactly the account whose total drifted from its ledger and the kept job whose blob is missing', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 5; i++) accounts.push(await core.account(`verify-${i}`, 1));
    const jobs: string[] = [];
    for (let i = 0; i < 5; i++) jobs.push(await core.submit(accounts[i % 5]!, 20_000));

    // Every job's result names three files and a step names a fourth; all present.
    for (const id of jobs) {
      const result = { kind: 'image', image: { formats: { png: { key: `jobs/${id}/run-1/image.png` }, webp: { key: `jobs/${id}/run-1/image.webp` } } }, cache_key: 'not-a-blob' };
      await core.db.updateTable('jobs').set({ result_json: JSON.stringify(result) }).where('id', '=', id).execute();
      for (const k of [...jobBlobKeys({ request_json: '{}', result_json: JSON.stringify(result) }, []), `jobs/${id}/story/run-1/scene-0.png`]) await blob.put(k, Buffer.from('x'));
      await core.db.insertInto('job_steps').values({ job_id: id, step: 'scene-0', ordinal: 1000, status: 'completed', output_json: JSON.stringify({ kind: 'scene', image: { formats: { png: { key: `jobs/${id}/story/run-1/scene-0.png` } } }, png_key: `jobs/${id}/story/run-1/scene-0.png` }), cost_micros: 0, created_at: Date.now() }).execute();
    }
    const healthy = await run();
    assert.deepEqual(healthy.problems, []);
    assert.deepEqual(
      { accounts: healthy.summary.accounts, jobs: healthy.summary.jobs, withFiles: healthy.summary.jobsWithFiles, blobs: healthy.summary.blobsChecked },
      { accounts: 5, jobs: 5, withFiles: 5, blobs: 15 },
    );

    // Planted: one account's total drifts (the 4th: on the second page), one job's step file is gone,
    // one job's result file is gone but its retention has ended (the sweeper's window: not a problem),
    // one expired job has no files at all (not checked).
    const sorted = [...accounts].sort();
    const drifted = sorted[3]!;
    await core.db.updateTable('accounts').set({ available_micros: 123 }).where('id', '=', drifted).execute();
    const sortedJobs = [...jobs].sort();
    const [lostStep, due, expired] = [sortedJobs[2]!, sortedJobs[3]!, sortedJobs[4]!];
    await blob.delete(`jobs/${lostStep}/story/run-1/scene-0.png`);
    await blob.delete(`jobs/${due}/run-1/image.webp`);
    await core.db.updateTable('jobs').set({ result_expires_at: Date.now() - 1000 }).where('id', '=', due).execute();
    await blob.deletePrefix(`jobs/${expired}`);
    await core.db.updateTable('jobs').set({ result_expired_at: Date.now() }).where('id', '=', expired).execute();

    const r = await run();
    assert.deepEqual(
      r.problems.map((p) => `${p.kind} ${p.id}: ${p.message}`).sort(),
      [`account ${drifted}: available_micros is 123 but its ledger rows sum to 980000`, `job ${lostStep}: blob jobs/${lostStep}/story/run-1/scene-0.png is missing`].sort(),
    );
    assert.equal(r.summary.problems, 2);
    assert.equal(r.summary.jobsWithFiles, 4);
  });

  it('reads the keys a job names from its result, steps and stored inputs, and nothing else', () => {
    const keys = jobBlobKeys(
      {
        request_json: JSON.stringify({ inputs: [{ field: 'image', blob_key: 'uploads/acc/in.png' }, { field: 'images[1]', url: 'https://example.test/x.png' }], mask: { blob_key: 'jobs/j/inputs/1' } }),
        result_json: JSON.stringify({ kind: 'story', scenes: [{ image: { formats: { png: { key: 'jobs/j/story/run-2/scene-0.png' } } } }], refs: [{ png_key: 'jobs/j/story/run-1/portrait-0.png' }, { client_url: 'https://example.test/ref.png' }], key: 'not/../a-key', idempotency_key: 'abc' }),
      },
      [JSON.stringify({ kind: 'portrait', image: { formats: { webp: { key: 'jobs/j/story/run-1/portrait-0.webp' } } } }), 'not json'],
    );
    assert.deepEqual(keys, ['jobs/j/inputs/1', 'jobs/j/story/run-1/portrait-0.png', 'jobs/j/story/run-1/portrait-0.webp', 'jobs/j/story/run-2/scene-0.png', 'uploads/acc/in.png']);
  });
});
