import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { launchChromium, screenshot } from '../helpers/browser.js';
import { freePort } from '../helpers/faults.js';

/**
 * The dashboard's batches (issue 21) in a real browser, against a real `easel serve`: a batch
 * started from the playground is followed live to 6/6 and its six pictures load; a batch with an
 * item on a model whose server is down shows that item's error code; a running batch is canceled
 * from its page. Screenshots go to test-artifacts/dashboard/.
 */
const PROMPTS = ['a red kite over dunes', 'a lighthouse at dusk', 'three pears on a plate', 'a fox in the snow', 'a tram in the rain', 'a sailboat at dawn'];

describe(`dashboard batches in Chromium (${MODE})`, { timeout: 240_000 }, () => {
  let srv: EaselProcess;
  let key: string;
  let context: BrowserContext;
  let close: () => Promise<void> = async () => undefined;
  let page: Page;
  let batchId = '';
  const consoleErrors: string[] = [];

  before(async () => {
    // "broken" is an AUTOMATIC1111 model whose server is a port nothing listens on: its items fail.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-dash-batches-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `defaults: { image: easel-sketch }
models:
  - { id: easel-sketch, name: Easel Sketch, description: offline, provider: sketch, operations: [generate, edit, combine], price_eur: "0.020000", supports_multiturn: true, max_characters: 10 }
  - { id: broken, name: Down, description: a server that is down, provider: a1111, vendor_model: v1-5, operations: [generate], price_eur: "0.010000" }
`,
    );
    srv = await EaselProcess.start({
      env: {
        EASEL_MODELS_FILE: file,
        EASEL_A1111_BASE_URL: `http://127.0.0.1:${await freePort()}`,
        EASEL_A1111_MAX_RETRIES: '0',
        EASEL_MAX_ATTEMPTS: '1',
        // Slow renders and two at a time, so progress is visible and a cancel finds items still waiting.
        EASEL_SKETCH_LATENCY_MS: '500',
        EASEL_WORKER_CONCURRENCY: '2',
      },
    });
    key = await srv.createKey('dash-batches', '5');
    ({ context, close } = await launchChromium());
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await page.goto(srv.url('/dashboard/'));
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
  });
  after(async () => {
    await close();
    await srv?.stop();
  });

  const imagesLoaded = () =>
    page.waitForFunction(
      () => {
        const imgs = [...document.querySelectorAll<HTMLImageElement>('[data-testid=batch-items] img')];
        return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
      },
      null,
      { timeout: 30_000 },
    );

  it(`starts a batch of ${PROMPTS.length} from the playground and follows it live to ${PROMPTS.length}/${PROMPTS.length}, every picture loaded`, async () => {
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByLabel('Prompts, one per line').fill(PROMPTS.join('\n') + '\n\n');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await page.getByRole('button', { name: `Start batch of ${PROMPTS.length} images` }).click();
    await page.getByRole('heading', { name: new RegExp(`^Batch of ${PROMPTS.length} image`) }).waitFor();
    batchId = decodeURIComponent(new URL(page.url()).hash.split('/').pop()!);
    assert.match(batchId, /^[0-9a-f-]{36}$/);

    const head = page.getByTestId('batch-head');
    const seen: string[] = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      const text = (await head.getByTestId('batch-progress').innerText().catch(() => '')).trim();
      if (text && seen[seen.length - 1] !== text) seen.push(text);
      if (text === `${PROMPTS.length}/${PROMPTS.length} items` && (await head.getAttribute('data-status')) === 'completed') break;
      assert.ok(Date.now() < deadline, `progress stalled: ${seen.join(' → ')}`);
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.ok(seen.length >= 3, `progress moved live: ${seen.join(' → ')}`);
    const counts = seen.map((s) => Number(/^(\d+)\//.exec(s)?.[1]));
    assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'progress never goes back');
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload happened');

    for (const [id, n] of [['completed', PROMPTS.length], ['failed', 0], ['canceled', 0], ['running', 0], ['pending', 0], ['total', PROMPTS.length]] as const) {
      assert.equal(await page.getByTestId(`count-${id}`).innerText(), String(n), `count ${id}`);
    }
    // The money is the items': six sketches at €0.02, all charged, nothing left held.
    const api6 = await api(srv.baseUrl, 'GET', `/v1/batches/${batchId}`, { key });
    assert.equal(api6.body.cost.charged_eur, '0.120000');
    assert.equal(await page.getByTestId('cost-charged').innerText(), '€0.12');
    assert.equal(await page.getByTestId('cost-held').innerText(), '€0.00');

    const grid = page.getByTestId('batch-items');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=batch-items] img').length === n, PROMPTS.length);
    await imagesLoaded();
    const sizes = await grid.locator('img').evaluateAll((imgs) => imgs.map((i) => (i as HTMLImageElement).naturalWidth));
    assert.ok(sizes.every((w) => w > 0), `every picture decoded: ${sizes}`);
    // Tiles in item order, each linking to its item's job.
    const items = (await api(srv.baseUrl, 'GET', `/v1/batches/${batchId}/items`, { key })).body.items as { index: number; job_id: string }[];
    assert.deepEqual(await grid.locator('.tile').evaluateAll((ts) => ts.map((t) => t.getAttribute('data-job-id'))), items.map((i) => i.job_id));
    await screenshot(page, 'batch-completed');

    // A tile opens the item's job page, which links back to its batch.
    await grid.locator('.tile[data-index="2"] a').click();
    await page.getByRole('heading', { name: /^image job/ }).waitFor();
    assert.equal(new URL(page.url()).hash, `#/jobs/${items[2]!.job_id}`);
    assert.match(await page.getByTestId('item-batch-link').innerText(), /^item 3 of batch [0-9a-f]{8}$/);
    await page.getByTestId('item-batch-link').click();
    await page.getByTestId('batch-head').waitFor();
  });

  it('lists the batch on the Batches page with its item progress instead of a prompt', async () => {
    await page.getByRole('link', { name: 'Batches' }).click();
    await page.getByRole('heading', { name: 'Batches', level: 1 }).waitFor();
    const card = page.locator(`.job-card[data-job-id="${batchId}"]`);
    await card.waitFor();
    assert.equal(await card.getByTestId('batch-progress').innerText(), `${PROMPTS.length}/${PROMPTS.length} items`);
    assert.equal(await card.getByTestId('job-prompt').count(), 0, 'a batch has no prompt of its own');
    assert.equal(await page.locator('.job-card').count(), 1, 'only batches are listed');
    await screenshot(page, 'batches');
    // The Jobs page shows the batch too (never its items), with the same bar.
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByLabel('Operation').selectOption('batch');
    await page.waitForFunction((id) => {
      const cards = document.querySelectorAll('.job-card');
      return cards.length === 1 && cards[0]!.getAttribute('data-job-id') === id;
    }, batchId);
    await page.locator('.job-card').getByRole('link').first().click();
    await page.getByTestId('batch-head').waitFor();
    assert.equal(new URL(page.url()).hash, `#/batches/${batchId}`);
  });

  it("shows a failed item as a tile with its error code, and the item's job page says why", async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/batches', {
      key,
      body: { operation: 'image', items: [{ prompt: 'a blue door' }, { prompt: 'a green door', model: 'broken' }, { prompt: 'a yellow door' }] },
    });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.job_id as string;
    await page.goto(srv.url(`/dashboard/#/batches/${id}`));
    const head = page.getByTestId('batch-head');
    await page.waitForFunction(() => {
      const h = document.querySelector('[data-testid=batch-head]');
      return h?.getAttribute('data-status') === 'completed' && h.querySelector('[data-testid=batch-progress]')?.textContent === '3/3 items';
    }, null, { timeout: 60_000 });
    assert.equal(await head.getByTestId('batch-progress-failed').innerText(), '1 failed');
    assert.equal(await page.getByTestId('count-failed').innerText(), '1');
    assert.equal(await page.getByTestId('count-completed').innerText(), '2');

    const items = (await api(srv.baseUrl, 'GET', `/v1/batches/${id}/items?status=failed`, { key })).body.items as { index: number; job_id: string; error: { code: string } }[];
    assert.equal(items.length, 1);
    assert.equal(items[0]!.index, 1);
    const tile = page.locator('[data-testid=batch-items] .tile[data-index="1"]');
    await tile.getByTestId('item-error-code').waitFor();
    assert.equal(await tile.getAttribute('data-status'), 'failed');
    assert.equal(await tile.getByTestId('item-error-code').innerText(), items[0]!.error.code);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-items] img').length === 2);
    await imagesLoaded();
    // The "failed or canceled" filter shows that tile alone.
    await page.getByLabel('Show').selectOption('failed');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=batch-items] .tile').length === 1);
    await screenshot(page, 'batch-failed-item');

    await tile.getByRole('link').click();
    await page.getByTestId('job-error-code').waitFor();
    assert.equal(await page.getByTestId('job-error-code').innerText(), items[0]!.error.code);
  });

  it('cancels a running batch from its page: every item ends, the unfinished ones canceled and refunded', async () => {
    const N = 40;
    const res = await api(srv.baseUrl, 'POST', '/v1/batches', { key, body: { operation: 'image', items: Array.from({ length: N }, (_, i) => ({ prompt: `tile ${i}` })) } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    const id = res.body.job_id as string;
    await page.goto(srv.url(`/dashboard/#/batches/${id}`));
    await page.getByRole('button', { name: 'Cancel batch' }).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=batch-head]')?.getAttribute('data-status') === 'canceled', null, { timeout: 60_000 });
    const n = async (k: string) => Number(await page.getByTestId(`count-${k}`).innerText());
    await page.waitForFunction(() => document.querySelector('[data-testid=count-running]')?.textContent === '0');
    const [completed, failed, canceled] = [await n('completed'), await n('failed'), await n('canceled')];
    assert.equal(completed + failed + canceled, N, `every item ended: ${completed} + ${failed} + ${canceled}`);
    assert.ok(canceled > 0, 'items still waiting were canceled');
    assert.equal(await page.getByRole('button', { name: 'Cancel batch' }).count(), 0, 'an ended batch has no cancel button');
    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
    assert.equal(job.canceled, true);
    assert.equal(job.batch.items_canceled, canceled);
    assert.equal(await page.getByTestId('cost-held').innerText(), '€0.00', 'nothing stays held');
    assert.notEqual(await page.getByTestId('cost-refunded').innerText(), '€0.00', 'the canceled items were refunded');
    assert.equal(job.cost.refunded_eur, (canceled * 0.02).toFixed(6));
    await page.getByLabel('Show').selectOption('failed');
    await page.waitForFunction((c) => document.querySelectorAll('[data-testid=batch-items] .tile[data-status=canceled]').length === Math.min(c, 60), canceled);
    await screenshot(page, 'batch-canceled');
    assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], 'nothing the page needs is blocked by its CSP');
  });
});
