import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { openCore, type Core } from '../helpers/core.js';
import { FsBlobStore } from '../../src/blob/fs-store.js';
import { UrlSigner } from '../../src/blob/url-signer.js';
import { ProgressReporter, PROGRESS_INTERVAL_MS } from '../../src/progress/reporter.js';
import { readProgress } from '../../src/progress/stored.js';
import type { Fence } from '../../src/jobs/transitions/context.js';

/**
 * The per-attempt progress reporter on the mode's real store (SQLite file / PostgreSQL) and a real
 * disk blob store: it coalesces, stays monotone, fences its writes, and leaves no frame behind.
 */
describe('ProgressReporter', () => {
  let core: Core;
  let blobDir: string;
  let blob: FsBlobStore;
  let writes: number;

  before(async () => {
    core = await openCore();
    blobDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-progress-'));
    blob = new FsBlobStore(blobDir, new UrlSigner(Buffer.alloc(32, 1)), () => 'http://127.0.0.1:1');
  });
  after(async () => {
    await core.close();
    fs.rmSync(blobDir, { recursive: true, force: true });
  });

  const running = async () => {
    const account = await core.account(`acc-${Math.random()}`, 5);
    const id = await core.submit(account, 10_000);
    const claim = await core.claimJob(id);
    const fence: Fence = { jobId: id, token: claim.token };
    const started = await core.jobs.start(fence);
    assert.equal(started.outcome, 'started');
    writes = 0;
    const jobs = {
      recordProgress: async (f: Fence, json: string) => {
        writes++;
        return core.jobs.recordProgress(f, json);
      },
    };
    const warnings: unknown[] = [];
    const reporter = new ProgressReporter({ jobs, blob, db: core.db, log: { warn: (o) => warnings.push(o) } }, fence, (started as { job: any }).job);
    return { id, fence, reporter, warnings };
  };
  const stored = async (id: string) => {
    const row = await core.jobs.get(id);
    return readProgress(row!.progress_json, Number(row!.attempts));
  };
  const frame = (shade: number) => sharp({ create: { width: 640, height: 480, channels: 3, background: { r: shade, g: 40, b: 90 } } }).png().toBuffer();

  it('200 reports in a second become at most one write per 250 ms, the last report wins, the fraction never falls', async () => {
    const { id, reporter, warnings } = await running();
    const sink = reporter.sink();
    const began = Date.now();
    for (let i = 1; i <= 200; i++) {
      // A backend that restarts its count halfway (a pool failover): the bar must not go back.
      const step = i <= 100 ? i : Math.ceil((i - 100) / 2);
      sink({ stage: 'sampling', step, steps: 120 });
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, PROGRESS_INTERVAL_MS * 3));
    const seconds = (Date.now() - began) / 1000;
    assert.ok(writes <= Math.ceil((seconds * 1000) / PROGRESS_INTERVAL_MS) + 1, `${writes} writes in ${seconds.toFixed(2)} s`);
    assert.ok(writes >= 2, `${writes} writes`);
    const p = await stored(id);
    assert.equal(p!.step, 50, 'the latest report was written');
    assert.ok(Math.abs(p!.fraction - 100 / 120) < 0.01, `fraction stayed at its high mark: ${p!.fraction}`);
    assert.deepEqual(warnings, []);
    await reporter.close();
  });

  it('stores a frame as a small WebP, replaces it, and deletes every frame when the attempt ends', async () => {
    const { id, reporter } = await running();
    const sink = reporter.sink();
    sink({ stage: 'sampling', step: 1, steps: 4, preview: { bytes: await frame(10) } });
    await new Promise((r) => setTimeout(r, 400));
    const first = (await stored(id))!.preview_key!;
    assert.match(first, new RegExp(`^jobs/${id}/preview/r1-1\\.webp$`));
    const meta = await sharp((await blob.get(first))!).metadata();
    assert.equal(meta.format, 'webp');
    assert.equal(meta.width, 256);
    assert.equal(meta.height, 192);
    await new Promise((r) => setTimeout(r, 1000));
    sink({ stage: 'sampling', step: 3, steps: 4, preview: { bytes: await frame(200) } });
    await new Promise((r) => setTimeout(r, 400));
    const second = (await stored(id))!.preview_key!;
    assert.notEqual(second, first);
    assert.equal(await blob.exists(first), false, 'the replaced frame is deleted');
    assert.equal(await blob.exists(second), true);
    await reporter.close();
    assert.equal(await blob.exists(second), false, 'no frame outlives its attempt');
  });

  it('a writer that lost its claim writes nothing, and an ended job shows no progress', async () => {
    const { id, fence, reporter } = await running();
    const sink = reporter.sink();
    sink({ stage: 'sampling', step: 1, steps: 10 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await stored(id))!.step, 1);
    // Another claim takes the job (this one paused past its lease): its fence no longer holds.
    assert.equal(await core.jobs.recordProgress({ ...fence, token: 'someone-else' }, JSON.stringify({ run: 1, stage: 'sampling', fraction: 0.9, updated_at: 1 })), false);
    await core.jobs.fail(fence, 'upstream_error', 'the vendor failed');
    sink({ stage: 'sampling', step: 9, steps: 10 });
    await new Promise((r) => setTimeout(r, 400));
    const row = await core.jobs.get(id);
    assert.equal(row!.status, 'failed');
    assert.equal(row!.progress_json, null, 'the ending cleared it, and the late report was refused');
    await reporter.close();
  });
});
