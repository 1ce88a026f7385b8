import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess } from '../helpers/server.js';
import { Easel, EaselApiError, EaselJobFailedError, isGenerationResult, type BatchItem } from '../../src/sdk/index.js';

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'easel-sdk-batch-'));

/** The SDK's batch methods against a real `easel serve`: create (JSON, JSONL, file), get, items, results, cancel. */
describe('SDK batches against a real server', () => {
  let srv: EaselProcess;
  let easel: Easel;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '300' } });
    easel = new Easel({ apiKey: await srv.createKey('sdk-batches', '20'), baseUrl: srv.baseUrl });
  });
  after(() => srv.stop());

  it('createBatch (JSON) → waitForJob → getBatch, listBatchItems, batchItems across pages, batchResults; each result downloads and decodes', async () => {
    const accepted = await easel.createBatch({ operation: 'image', items: [{ prompt: 'a red kite' }, { prompt: 'a blue kite', aspect_ratio: '16:9' }, { prompt: 'a green kite' }], defaults: { aspect_ratio: '1:1' }, metadata: { via: 'sdk' } });
    assert.equal(accepted.items_total, 3);
    assert.match(accepted.price_eur, /^\d+\.\d{6}$/);
    assert.equal(accepted.poll_url, `/v1/jobs/${accepted.job_id}`);
    const done = await easel.waitForJob(accepted.job_id, { pollIntervalMs: 100 });
    assert.equal(done.status, 'completed');

    const batch = await easel.getBatch(accepted.job_id);
    assert.equal(batch.operation, 'batch');
    assert.deepEqual(batch.metadata, { via: 'sdk' });
    assert.deepEqual([batch.batch?.items_total, batch.batch?.items_completed, batch.batch?.items_failed], [3, 3, 0]);
    assert.deepEqual([batch.result?.items_total, batch.result?.items_completed], [3, 3]);

    const page = await easel.listBatchItems(accepted.job_id, { status: ['completed', 'failed'], limit: 2, offset: 1 });
    assert.deepEqual([page.items.map((i) => i.index), page.limit, page.offset, page.total], [[1, 2], 2, 1, 3]);
    const none = await easel.listBatchItems(accepted.job_id, { status: 'failed' });
    assert.deepEqual([none.items, none.total], [[], 0]);

    const walked: BatchItem[] = [];
    for await (const item of easel.batchItems(accepted.job_id, { limit: 1 })) walked.push(item);
    assert.deepEqual(walked.map((i) => i.index), [0, 1, 2], 'pages of one, in index order');
    let pages = 0;
    for await (const p of easel.batchItemPages(accepted.job_id, { limit: 2 })) pages += p.items.length ? 1 : 0;
    assert.equal(pages, 2);

    const results = await easel.batchResults(accepted.job_id);
    assert.deepEqual(results.map((i) => [i.index, i.status]), [[0, 'completed'], [1, 'completed'], [2, 'completed']]);
    const dir = tmpDir();
    for (const item of results) {
      assert.ok(isGenerationResult(item.result));
      const [file] = await easel.downloadAll(item.result, dir, { formats: 'png', name: `item-${item.index}` });
      const meta = await sharp(fs.readFileSync(file!.path)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', ...(item.index === 1 ? [1024, 576] : [1024, 1024])]);
      const job = await easel.getJob(item.job_id);
      assert.deepEqual([job.batch_id, job.batch_index], [accepted.job_id, item.index]);
    }
  });

  it('createBatchFromJsonl (multipart) and createBatchFromFile; the same Idempotency-Key answers the same batch', async () => {
    const jsonl = '{"prompt":"a tin robot"}\n\n{"prompt":"a paper boat"}\n';
    const a = await easel.createBatchFromJsonl(jsonl, { operation: 'image', defaults: { model: 'easel-sketch-fast' }, max_cost_eur: '5', priority: 'high', metadata: { form: 'jsonl' } }, { idempotencyKey: 'batch-sdk-1' });
    assert.equal(a.items_total, 2);
    const replay = await easel.createBatchFromJsonl(jsonl, { operation: 'image', defaults: { model: 'easel-sketch-fast' }, max_cost_eur: '5', priority: 'high', metadata: { form: 'jsonl' } }, { idempotencyKey: 'batch-sdk-1' });
    assert.equal(replay.job_id, a.job_id);
    await easel.waitForJob(a.job_id, { pollIntervalMs: 100 });
    const items = await easel.batchResults(a.job_id);
    assert.ok(items.every((i) => (i.result as { model: string }).model === 'easel-sketch-fast'), 'defaults applied');

    const file = path.join(tmpDir(), 'items.jsonl');
    fs.writeFileSync(file, '{"prompt":"a glass vase"}\n');
    const b = await easel.createBatchFromFile(file, { operation: 'graphic' });
    assert.equal(b.items_total, 1);
    const done = await easel.waitForJob(b.job_id, { pollIntervalMs: 100 });
    assert.equal(done.status, 'completed');
    assert.equal((await easel.batchResults(b.job_id))[0]!.operation, 'graphic');
  });

  it('a refused batch is an EaselApiError naming each refused item; nothing is created', async () => {
    const e = await easel.createBatch({ operation: 'image', items: [{ prompt: 'a calm lake' }, { prompt: 'a gory battlefield' }] }).then(
      () => assert.fail('expected a refusal'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof EaselApiError, String(e));
    assert.equal(e.code, 'content_rejected');
    const items = e.details?.items as { index: number; error: string }[];
    assert.deepEqual(items.map((i) => [i.index, i.error]), [[1, 'content_rejected']]);
    const bad = await easel.createBatchFromJsonl('{"prompt":"ok"}\nnot json\n', { operation: 'image' }).then(
      () => assert.fail('expected a 400'),
      (err: unknown) => err,
    );
    assert.ok(bad instanceof EaselApiError);
    assert.equal(bad.status, 400);
  });

  it('cancelBatch keeps ended items and cancels the rest; waiting for it then throws canceled', async () => {
    const accepted = await easel.createBatch({ operation: 'image', items: Array.from({ length: 10 }, (_, i) => ({ prompt: `a small house number ${i}` })) });
    const canceled = await easel.cancelBatch(accepted.job_id);
    assert.equal(canceled.job_id, accepted.job_id);
    const e = await easel.waitForJob(accepted.job_id, { pollIntervalMs: 100 }).then(
      () => assert.fail('a canceled batch does not complete'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof EaselJobFailedError, String(e));
    assert.equal(e.code, 'canceled');
    const batch = await easel.getBatch(accepted.job_id);
    assert.equal(batch.canceled, true);
    const b = batch.batch!;
    assert.equal(b.items_completed + b.items_failed + b.items_canceled, 10);
    assert.ok(b.items_canceled >= 1);
    const listed = [];
    for await (const i of easel.batchItems(accepted.job_id, { status: 'canceled' })) listed.push(i);
    assert.equal(listed.length, b.items_canceled);
    assert.ok(listed.every((i) => i.canceled === true && i.error?.code === 'canceled'));
  });
});
