import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { Easel, EaselApiError, type Job, type JobProgress } from '../../src/sdk/index.js';

/**
 * The SDK's view of live progress (issue 22): a create with `onProgress` follows its job and
 * reports `progress` as it moves, over the event stream (job.progress events) and when polling;
 * a preview URL it reports can be downloaded while the job runs, and is gone afterwards.
 */
describe('SDK: live progress', () => {
  let srv: EaselProcess;
  let key: string;
  let easel: Easel;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '3000' } });
    key = await srv.createKey('sdk-progress', '10');
    easel = new Easel({ apiKey: key, baseUrl: srv.baseUrl });
  });
  after(() => srv.stop());

  /** Collects every reported job, and fetches each new preview frame at once (it is valid only while current). */
  function recorder() {
    const jobs: Job[] = [];
    const previews: Promise<{ status: number; type: string | null; width?: number | undefined }>[] = [];
    const asked = new Set<string>();
    const onProgress = (j: Job) => {
      jobs.push(j);
      const url = j.progress?.preview_url;
      if (!url || asked.has(url.split('?')[0]!)) return;
      asked.add(url.split('?')[0]!);
      previews.push(
        easel.downloadPreview(j.progress!, { maxRetries: 0 }).then(
          async (r) => ({ status: 200, type: r.contentType, width: (await sharp(r.bytes).metadata()).width }),
          (e: unknown) => ({ status: e instanceof EaselApiError ? e.status : -1, type: null }),
        ),
      );
    };
    return { jobs, previews, onProgress, progress: () => jobs.map((j) => j.progress).filter((p): p is JobProgress => p !== undefined) };
  }

  function assertMoved(p: JobProgress[], what: string): void {
    assert.ok(p.length >= 3, `${what}: progress reported ${p.length} times`);
    const fractions = p.map((x) => x.fraction);
    assert.deepEqual([...fractions].sort((a, b) => a - b), fractions, `${what}: fraction never goes back: ${fractions}`);
    assert.ok(fractions.some((f) => f > 0 && f < 1), `${what}: a fraction mid-way: ${fractions}`);
    assert.ok(p.some((x) => x.stage === 'sampling' && x.steps === 20 && x.step! > 0), `${what}: sampling steps of 20`);
  }

  it('generateImage(body, { onProgress }) reports progress over the event stream and still resolves to the image', async () => {
    const rec = recorder();
    const image = await easel.generateImage({ prompt: 'a lighthouse at dusk' }, { onProgress: rec.onProgress });
    assert.ok(image.formats.png.url, 'the finished generation, as without onProgress');
    assertMoved(rec.progress(), 'sse');
    assert.equal(easel.sseAvailable, true, 'followed over the event stream');
    assert.equal(rec.jobs.at(-1)!.status, 'completed');
    assert.equal(rec.jobs.at(-1)!.progress, undefined, 'no progress once ended');
    const previews = await Promise.all(rec.previews);
    assert.ok(previews.some((p) => p.status === 200 && p.type === 'image/webp' && p.width! <= 256), `a preview frame was downloadable while running: ${JSON.stringify(previews)}`);
    // Once the job ended its frames are gone.
    const last = rec.progress().filter((p) => p.preview_url).at(-1)!.preview_url!;
    assert.equal((await fetch(last)).status, 404);
  });

  it('jobPreview(id) gives the current frame with the key while the job runs, and 404 once it ended', async () => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a red kite over dunes' }, headers: { prefer: 'wait=0' } });
    assert.equal(r.status, 202);
    const id = r.body.job_id as string;
    await waitFor(async () => (await easel.getJob(id)).progress?.preview_url, 30_000, 100);
    const frame = await easel.jobPreview(id);
    assert.equal(frame.contentType, 'image/webp');
    const meta = await sharp(frame.bytes).metadata();
    assert.equal(meta.format, 'webp');
    assert.ok(meta.width! <= 256, `a small frame (${meta.width} px)`);
    await easel.waitForJob(id);
    const gone = await easel.jobPreview(id).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(gone instanceof EaselApiError && gone.status === 404, `no frame once the job ended: ${String(gone)}`);
  });

  it('waitForJob over polling reports the same progress from each read', async () => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a tram in the rain' }, headers: { prefer: 'wait=0' } });
    assert.equal(r.status, 202);
    const rec = recorder();
    const job = await easel.waitForJob(r.body.job_id, { transport: 'poll', pollIntervalMs: 200, onProgress: rec.onProgress });
    assert.equal(job.status, 'completed');
    assertMoved(rec.progress(), 'poll');
  });
});
