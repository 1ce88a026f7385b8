import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EaselProcess, api } from '../helpers/server.js';
import { Easel, type Job, type JobProgress } from '../../src/sdk/index.js';

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
    const previews: Promise<{ status: number; type: string | null; width?: number }>[] = [];
    const asked = new Set<string>();
    const onProgress = (j: Job) => {
      jobs.push(j);
      const url = j.progress?.preview_url;
      if (!url || asked.has(url.split('?')[0]!)) return;
      asked.add(url.split('?')[0]!);
      previews.push(
        fetch(url).then(async (r) => {
          const bytes = Buffer.from(await r.arrayBuffer());
          return { status: r.status, type: r.headers.get('content-type'), ...(r.ok ? { width: (await sharp(bytes).metadata()).width } : {}) };
        }),
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

  it('waitForJob over polling reports the same progress from each read', async () => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a tram in the rain' }, headers: { prefer: 'wait=0' } });
    assert.equal(r.status, 202);
    const rec = recorder();
    const job = await easel.waitForJob(r.body.job_id, { transport: 'poll', pollIntervalMs: 200, onProgress: rec.onProgress });
    assert.equal(job.status, 'completed');
    assertMoved(rec.progress(), 'poll');
  });
});
