import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { launchChromium, screenshot } from '../helpers/browser.js';

/**
 * Live progress in the dashboard (issue 22, item 6) in a real browser, against a real `easel
 * serve` whose offline renderer takes 3 s a picture in 20 steps with preview frames at steps
 * 5/10/15: the job page of a running image shows a progress bar that rises and the preview frame
 * (a small image, decoded) until the finished image takes its place; the playground does the same
 * for the image it just submitted. Screenshots go to test-artifacts/dashboard/.
 */
describe(`dashboard live progress in Chromium (${MODE})`, { timeout: 180_000 }, () => {
  let srv: EaselProcess;
  let key: string;
  let context: BrowserContext;
  let close: () => Promise<void> = async () => undefined;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '3000' } });
    key = await srv.createKey('dash-progress', '5');
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

  /** What the page shows now inside `root`: the status, the bar's value, the preview's and the result's decoded widths. */
  const look = (root: string, result: string) =>
    page.evaluate(
      ([root, result]) => {
        const scope = document.querySelector(root!);
        const bar = scope?.querySelector<HTMLProgressElement>('[data-testid=step-progress-bar]');
        const preview = scope?.querySelector<HTMLImageElement>('[data-testid=live-preview] img');
        const final = document.querySelector<HTMLImageElement>(result!);
        return {
          status: scope?.querySelector('.status')?.textContent ?? null,
          bar: bar ? bar.value : null,
          text: scope?.querySelector('[data-testid=step-progress]')?.textContent ?? null,
          preview: preview && preview.complete ? preview.naturalWidth : null,
          final: final && final.complete ? final.naturalWidth : null,
        };
      },
      [root, result],
    );
  type Look = Awaited<ReturnType<typeof look>>;

  /** Samples the page until the finished image has loaded; every sample is kept (and the first with a preview as a screenshot). */
  async function follow(root: string, result: string, shot: string): Promise<Look[]> {
    const seen: Look[] = [];
    const deadline = Date.now() + 60_000;
    let shotTaken = false;
    for (;;) {
      const l = await look(root, result);
      seen.push(l);
      if (!shotTaken && l.preview && l.status === 'processing') {
        shotTaken = true;
        await screenshot(page, shot);
      }
      if (l.final && l.final > 0) return seen;
      assert.ok(Date.now() < deadline, `the image never arrived: ${JSON.stringify(seen.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 40));
    }
  }

  /** The checks both pages share: a rising bar with stage and step, a decoded preview while running, then the image. */
  function assertLive(seen: Look[], what: string): void {
    const values = seen.map((l) => l.bar).filter((v): v is number => v !== null);
    const distinct = values.filter((v, i) => i === 0 || v !== values[i - 1]);
    assert.ok(distinct.length >= 3, `${what}: the bar moved live: ${distinct.join(' → ')}`);
    assert.deepEqual([...distinct].sort((a, b) => a - b), distinct, `${what}: the bar never goes back`);
    assert.ok(distinct.some((v) => v > 0 && v < 1), `${what}: the bar shows a part done`);
    assert.ok(
      seen.some((l) => l.text && /^sampling · step \d+\/20 · \d+%$/.test(l.text)),
      `${what}: stage and step in words: ${[...new Set(seen.map((l) => l.text))].join(' | ')}`,
    );
    const running = seen.filter((l) => l.status === 'processing' && l.preview !== null && l.preview > 0);
    assert.ok(running.length > 0, `${what}: a preview frame was decoded while the job ran`);
    assert.ok(running.every((l) => l.preview! <= 256), `${what}: the preview is a small frame (${running[0]!.preview} px), not the result`);
    // Once a frame is shown it stays while the job runs, though each frame's URL 404s once the next replaced it.
    const first = seen.findIndex((l) => l.preview !== null && l.preview > 0);
    const gap = seen.slice(first).find((l) => l.status === 'processing' && !(l.preview && l.preview > 0));
    assert.equal(gap, undefined, `${what}: the last good frame stays on screen while the job runs: ${JSON.stringify(gap)}`);
    const end = seen.at(-1)!;
    assert.ok(end.final! > 256, `${what}: the finished image (${end.final} px wide)`);
  }

  it('the job page of a running image shows a rising progress bar and the live preview, then the image', async () => {
    const r = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a lighthouse at dusk' }, headers: { prefer: 'wait=0' } });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.body.job_id as string;
    await page.goto(srv.url(`/dashboard/#/jobs/${id}`));
    await page.getByRole('heading', { name: /^image job/ }).waitFor();
    const seen = await follow('main', 'main img.thumb', 'job-progress-running');
    assertLive(seen, 'job page');
    assert.equal(await page.getByTestId('live-preview').count(), 0, 'the preview is gone once the image is there');
    assert.equal(await page.getByTestId('step-progress-bar').count(), 0, 'and so is the bar');
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body.status, 'completed');
    await screenshot(page, 'job-progress-done');
  });

  it('the playground shows the same while its image is drawn, then the result', async () => {
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByRole('heading', { name: 'Playground', level: 1 }).waitFor();
    await page.getByLabel('Prompt', { exact: true }).fill('three pears on a plate');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByTestId('image-progress').waitFor();
    const seen = await follow('[data-testid=image-progress]', '[data-testid=image-result] img', 'playground-progress-running');
    assertLive(seen, 'playground');
    assert.equal(await page.getByTestId('image-prompt').innerText(), 'three pears on a plate');
    assert.equal(await page.getByTestId('image-progress').count(), 0, 'the live view gives way to the result');
    await screenshot(page, 'playground-progress-done');
    assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], 'nothing the page needs is blocked by its CSP');
  });
});
