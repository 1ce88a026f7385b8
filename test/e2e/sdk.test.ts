import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, waitFor } from '../helpers/server.js';
import { storyboard } from '../helpers/cli.js';
import {
  ENDPOINTS,
  Easel,
  EaselApiError,
  OTHER_PROTOCOL_PATHS,
  coversOperation,
  type EndpointName,
  type Job,
  type RetryInfo,
  type StoryRequest,
  type StoryResult,
} from '../../src/sdk/index.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'easel-sdk-'));

/** The SDK against a real `easel serve`: typed errors, retries, waiting, downloads, and drift against the live OpenAPI document. */
describe('SDK against a real server', () => {
  let srv: EaselProcess;
  let easel: Easel;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '100' } });
    easel = new Easel({ apiKey: await srv.createKey('sdk-main', '10'), baseUrl: srv.baseUrl });
  });
  after(() => srv.stop());

  it('covers every path and method of the live /v1/openapi.json with an SDK method (drift check)', async () => {
    const doc = (await new Easel({ baseUrl: srv.baseUrl }).openapi()) as { paths: Record<string, Record<string, unknown>> };
    const ops = Object.entries(doc.paths).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    assert.ok(ops.length >= 9, `the document lists the live operations (${ops.length})`);
    const uncovered = ops.filter((op) => {
      const [method, p] = op.split(' ') as [string, string];
      return coversOperation(method, p) === undefined && !OTHER_PROTOCOL_PATHS.includes(p);
    });
    assert.deepEqual(uncovered, [], `operations on the server with no SDK method; add them to src/sdk/endpoints.ts and the client:\n${uncovered.join('\n')}`);

    // And every row of the table is a method a caller can reach.
    const reach = (name: EndpointName): unknown => {
      if (name === 'jobEvents') return easel.waitForJob;
      const [group, method] = name.split('.') as [string, string | undefined];
      if (method === undefined) return (easel as unknown as Record<string, unknown>)[group];
      if (group === 'process') return (easel.process as Record<string, unknown>)[method];
      return (easel as unknown as Record<string, unknown>)[group]; // edit.image → easel.edit('image', …)
    };
    for (const name of Object.keys(ENDPOINTS) as EndpointName[]) assert.equal(typeof reach(name), 'function', `${name} has a method`);
  });

  it('answers with typed errors carrying code, status, message, request id and details', async () => {
    const bad = new Easel({ apiKey: 'esl_' + 'A'.repeat(43), baseUrl: srv.baseUrl });
    const poor = new Easel({ apiKey: await srv.createKey('sdk-poor'), baseUrl: srv.baseUrl });
    const expectError = async (p: Promise<unknown>, status: number, code: string) => {
      const e = await p.then(
        () => assert.fail(`expected ${status} ${code}`),
        (err: unknown) => err,
      );
      assert.ok(e instanceof EaselApiError, String(e));
      assert.equal(e.status, status);
      assert.equal(e.code, code);
      assert.ok(e.message.length > 0);
      assert.match(e.requestId ?? '', /^req_/);
      return e;
    };
    await expectError(bad.profile(), 401, 'auth_invalid');
    const credits = await expectError(poor.generateImage({ prompt: 'a quiet harbour' }), 402, 'credit_insufficient');
    assert.equal(credits.details?.balance_eur, '0.000000');
    const rejected = await expectError(easel.generateImage({ prompt: 'a gory battlefield' }), 403, 'content_rejected');
    assert.equal(rejected.details?.category, 'graphic_violence');
    await expectError(easel.generateImage({ prompt: 'x', model: 'no-such-model' }), 422, 'model_not_found');
    await expectError(easel.getJob('01a2259d-0000-7000-8000-00000000dead'), 404, 'not_found');
    await expectError(easel.cancelJob('01a2259d-0000-7000-8000-00000000dead'), 404, 'not_found');
    const invalid = await expectError(easel.generateImage({ prompt: '' }), 422, 'validation_failed');
    assert.ok(Array.isArray(invalid.details?.fields));
  });

  it('generates an image and downloadAll saves every format, checked and decodable; a second call keeps them', async () => {
    const r = await easel.generateImage({ prompt: 'a red fox in the snow', aspect_ratio: '16:9' });
    assert.equal(r.ai_generated, true);
    const dir = tmpDir();
    const files = await easel.downloadAll(r, dir);
    assert.deepEqual(files.map((f) => path.basename(f.path)).sort(), [`image-${r.id}.jpg`, `image-${r.id}.png`, `image-${r.id}.webp`]);
    for (const f of files) {
      const bytes = fs.readFileSync(f.path);
      assert.equal(sha256(bytes), r.formats[f.format as 'png'].hash);
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, f.format);
      assert.deepEqual([meta.width, meta.height], [1024, 576]);
      assert.equal(f.existed, false);
    }
    const again = await easel.downloadAll(r, dir);
    assert.ok(again.every((f) => f.existed), 'files already there whole are not fetched again');
    const one = await easel.downloadAll(r, tmpDir(), { formats: 'webp', name: 'fox' });
    assert.deepEqual(one.map((f) => path.basename(f.path)), ['fox.webp']);
    // A result read back from the job downloads the same way.
    const job = await easel.getJob(r.id);
    assert.equal((await easel.downloadAll(job, tmpDir(), { formats: 'png' })).length, 1);
  });

  it('upload, edit, combine, every processing operation and the ledger, typed end to end', async () => {
    const png = await sharp({ create: { width: 320, height: 200, channels: 3, background: '#2a6' } }).png().toBuffer();
    const up = await easel.upload(png, { filename: 'green.png' });
    assert.match(up.upload_url, /^https?:\/\//);
    const fromFile = path.join(tmpDir(), 'green.png');
    fs.writeFileSync(fromFile, png);
    const up2 = await easel.uploadFile(fromFile);
    assert.notEqual(up2.upload_id, up.upload_id);

    const edited = await easel.edit('image', { image_url: up.upload_url, prompt: 'make it warmer' });
    assert.equal(edited.ai_generated, true);
    const combined = await easel.combine('graphic', { input_image_urls: [up.upload_url, up2.upload_url], prompt: 'side by side', transparent_background: true });
    assert.equal(combined.ai_generated, true);
    assert.equal((await easel.generateDiagram({ prompt: 'a login flow', type: 'sequence' })).ai_generated, true);

    const input_image_url = up.upload_url;
    const results = {
      crop: await easel.process.crop({ input_image_url, x: 0, y: 0, width: 100, height: 50 }),
      resize: await easel.process.resize({ input_image_url, width: 160 }),
      rotate: await easel.process.rotate({ input_image_url, angle: 90 }),
      flip: await easel.process.flip({ input_image_url, direction: 'horizontal' }),
      trim: await easel.process.trim({ input_image_url }),
      adjust: await easel.process.adjust({ input_image_url, brightness: 0.2 }),
      overlay: await easel.process.overlay({ input_image_url, overlay_image_url: up2.upload_url, x: 10, y: 10, opacity: 0.5 }),
      metadataStrip: await easel.process.metadataStrip({ input_image_url }),
      convert: await easel.process.convert({ input_image_url, format: 'jpeg', quality: 80 }),
      optimize: await easel.process.optimize({ input_image_url }),
      removeBackground: await easel.process.removeBackground({ input_image_url }),
    };
    for (const [name, r] of Object.entries(results)) assert.match(r.content_type, /^image\//, name);
    const dir = tmpDir();
    const [crop] = await easel.downloadAll(results.crop, dir);
    assert.equal(path.basename(crop!.path), 'processed-crop.png');
    const meta = await sharp(fs.readFileSync(crop!.path)).metadata();
    assert.deepEqual([meta.width, meta.height], [100, 50]);
    const [jpeg] = await easel.downloadAll(results.convert, dir, { name: 'converted' });
    assert.equal(path.basename(jpeg!.path), 'converted.jpg');
    assert.equal((await sharp(fs.readFileSync(jpeg!.path)).metadata()).format, 'jpeg');

    const ledger = await easel.ledger({ limit: 100 });
    assert.ok(ledger.entries.some((e) => e.kind === 'grant'));
    assert.ok(ledger.entries.some((e) => e.job_id === edited.id));
    const { user } = await easel.profile();
    assert.match(user.balance_eur, /^\d+\.\d{6}$/);
    assert.equal(user.held_eur, '0.000000', 'nothing is running');
  });

  it('waitForJob over polling: progress rises to 4 of 4 and the finished story is returned', async () => {
    const accepted = await easel.generateStory(storyboard(4) as StoryRequest);
    const seen: Job[] = [];
    const job = await easel.waitForJob(accepted.job_id, { transport: 'poll', pollIntervalMs: 50, maxPollIntervalMs: 200, onProgress: (j) => seen.push(j) });
    assert.equal(job.status, 'completed');
    assert.ok(seen.length >= 2, 'progress was reported');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.scenes_completed >= seen[i - 1]!.scenes_completed, 'scenes never go down');
    assert.equal(seen.at(-1)!.scenes_completed, 4);
    assert.equal((job as Job<StoryResult>).result!.scenes.length, 4);
  });

  it('waitForJob follows the server\'s event stream (SSE) to completion and downloadAll saves every scene and reference', async () => {
    const accepted = await easel.generateStory(storyboard(4) as StoryRequest);
    assert.equal(accepted.poll_url, `/v1/generate/story/${accepted.job_id}`);
    const seen: Job[] = [];
    const reads = easel.sseAvailable;
    const job = (await easel.waitForJob(accepted.job_id, { onProgress: (j) => seen.push(j) })) as Job<StoryResult>;
    assert.equal(job.status, 'completed');
    assert.equal(easel.sseAvailable, true, `the events URL answered a stream (before: ${String(reads)})`);
    assert.ok(seen.length >= 2, 'progress was reported');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]!.scenes_completed >= seen[i - 1]!.scenes_completed, 'scenes never go down');
    assert.equal(seen.at(-1)!.scenes_completed, 4);
    const viaStoryPath = await easel.getStoryJob(accepted.job_id);
    assert.equal(viaStoryPath.result!.scenes.length, 4);

    const dir = tmpDir();
    const files = await easel.downloadAll(job, dir, { formats: 'png' });
    const scenes = files.filter((f) => f.kind === 'scene');
    const refs = files.filter((f) => f.kind === 'character_ref');
    assert.deepEqual(scenes.map((f) => path.basename(f.path)), ['scene-01.png', 'scene-02.png', 'scene-03.png', 'scene-04.png']);
    assert.equal(refs.length, job.result!.character_refs.length);
    assert.deepEqual(refs.map((f) => path.basename(f.path)).sort(), ['character-aria.png', 'character-bram-storm.png', 'character-bram.png']);
    for (const f of files) assert.equal((await sharp(fs.readFileSync(f.path)).metadata()).format, 'png');
  });

  it('runStory submits and waits in one call; a failed wait is not needed for a completed job', async () => {
    const job = await easel.runStory(storyboard(1) as StoryRequest, { pollIntervalMs: 50 });
    assert.equal(job.status, 'completed');
    assert.equal(job.result!.scenes.length, 1);
  });
});

describe('SDK retries against a real server with a backlog limit', () => {
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    // One job runs per account and one may wait: a third create while both are taken answers 429.
    srv = await EaselProcess.start({ env: { EASEL_MAX_CONCURRENT_JOBS: '1', EASEL_MAX_QUEUED_JOBS: '1', EASEL_SKETCH_LATENCY_MS: '2000' } });
    key = await srv.createKey('sdk-retry', '10');
  });
  after(() => srv.stop());

  /** Two slow creates: one running, one waiting — the account's running and backlog limits both full. */
  const startBlockers = async (easel: Easel, prompt: string) => {
    const first = easel.generateImage({ prompt: `${prompt} 1` });
    await waitFor(async () => (await api(srv.baseUrl, 'GET', '/v1/jobs?status=processing', { key })).body.generations.length === 1, 20_000);
    const second = easel.generateImage({ prompt: `${prompt} 2` });
    await waitFor(async () => (await api(srv.baseUrl, 'GET', '/v1/jobs?status=pending', { key })).body.generations.length === 1, 20_000);
    return { done: Promise.all([first, second]) };
  };

  it('a 429 with Retry-After is retried after the server\'s delay until the slot frees, then succeeds', async () => {
    const easel = new Easel({ apiKey: key, baseUrl: srv.baseUrl, maxRetries: 10 });
    const blocker = await startBlockers(easel, 'the blocker: a slow lighthouse');
    const retries: RetryInfo[] = [];
    const retrying = new Easel({ apiKey: key, baseUrl: srv.baseUrl, maxRetries: 10, onRetry: (i) => retries.push(i) });
    const r = await retrying.generateImage({ prompt: 'a patient second image' });
    assert.equal(r.ai_generated, true);
    await blocker.done;
    assert.ok(retries.length >= 1, 'at least one retry');
    for (const i of retries) {
      assert.ok(i.error instanceof EaselApiError);
      assert.equal(i.error.status, 429);
      assert.equal(i.error.code, 'rate_limited');
      assert.equal(i.error.retryAfterMs, 2000, 'the server sent Retry-After: 2');
      assert.ok(i.delayMs >= 2000, `the SDK waited at least Retry-After (${i.delayMs} ms)`);
    }
  });

  it('without retries the 429 surfaces as a typed error with its Retry-After', async () => {
    const easel = new Easel({ apiKey: key, baseUrl: srv.baseUrl });
    const blocker = await startBlockers(easel, 'another slow blocker');
    await assert.rejects(new Easel({ apiKey: key, baseUrl: srv.baseUrl, maxRetries: 0 }).generateImage({ prompt: 'too soon' }), (e: unknown) => {
      assert.ok(e instanceof EaselApiError);
      assert.equal(e.status, 429);
      assert.equal(e.retryAfterMs, 2000);
      assert.match(e.requestId ?? '', /^req_/);
      return true;
    });
    await blocker.done;
  });
});

describe('SDK and a synchronous create that outlives the server\'s wait', () => {
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SYNC_TIMEOUT_S: '1', EASEL_SKETCH_LATENCY_MS: '2500' } });
    key = await srv.createKey('sdk-slow', '10');
  });
  after(() => srv.stop());

  it('waits for the job named in the 503 instead of starting a second generation', async () => {
    const retries: RetryInfo[] = [];
    const answers: string[] = [];
    const recording: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      answers.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname} ${res.status}`);
      return res;
    };
    const easel = new Easel({ apiKey: key, baseUrl: srv.baseUrl, fetch: recording, onRetry: (i) => retries.push(i) });
    const r = await easel.generateImage({ prompt: 'a slow sunrise' });
    assert.equal(r.ai_generated, true);
    assert.equal(answers[0], 'POST /v1/generate/image 503', 'the server gave up waiting first');
    assert.equal(answers.filter((a) => a.startsWith('POST')).length, 1, 'one create only');
    assert.ok(answers.includes(`GET /v1/jobs/${r.id} 200`), 'then the SDK followed the job');
    assert.equal(retries.length, 0, 'the 503 was not retried');
    const jobs = (await easel.listJobs()).generations;
    assert.equal(jobs.length, 1, 'exactly one job was created');
    assert.equal(jobs[0]!.job_id, r.id);
  });
});
