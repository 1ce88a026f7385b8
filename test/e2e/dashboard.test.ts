import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BrowserContext, Page } from 'playwright-core';
import { EaselProcess, MODE, api } from '../helpers/server.js';
import { launchChromium, screenshot } from '../helpers/browser.js';

/**
 * The dashboard (issue 9) in a real browser: headless Debian Chromium driven by playwright-core,
 * against a real `easel serve`. Each step builds on the one before, as a person would use it.
 * Screenshots go to test-artifacts/dashboard/.
 */
const XSS = '<script>alert(1)</script>';
const SCENES = 4;

const storyboard = {
  style: 'ink and watercolour',
  characters: [{ name: 'Mira', appearance: 'a young sailor with a red scarf' }],
  scenes: [
    { prompt: 'Mira finds an old map in the attic', characters: ['Mira'] },
    { prompt: `${XSS} Mira rows across a misty bay`, characters: ['Mira'] },
    { prompt: 'Mira climbs the lighthouse stairs', characters: ['Mira'] },
    { prompt: 'Mira lights the lamp at dusk', characters: ['Mira'] },
  ],
};

describe(`dashboard in Chromium (${MODE})`, { timeout: 240_000 }, () => {
  let srv: EaselProcess;
  let key: string;
  let context: BrowserContext;
  let close: () => Promise<void> = async () => undefined;
  let page: Page;
  let storyId = '';
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    // Slow renders, so progress is visible between scenes.
    srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: '600' } });
    key = await srv.createKey('dash-user', '5');
    ({ context, close } = await launchChromium());
    page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
  });
  after(async () => {
    await close();
    await srv?.stop();
  });

  it('serves the dashboard with its own CSP, and signs in with an API key', async () => {
    const res = await page.goto(srv.url('/dashboard/'));
    assert.equal(res?.status(), 200);
    const csp = res!.headers()['content-security-policy'] ?? '';
    for (const d of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"]) assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
    assert.ok(!csp.includes('unsafe-inline'), 'no inline scripts or styles');
    if (MODE === 'scaleout') assert.match(csp, /img-src [^;]*http:\/\/127\.0\.0\.1:\d+/, 'the S3 origin may serve images');
    const bare = await fetch(srv.url('/dashboard'), { redirect: 'manual' });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/dashboard/');
    assert.equal(res!.headers()['cache-control'], 'no-cache', 'index.html is re-checked, so a new build shows at once');
    const script = await page.locator('script[src]').getAttribute('src');
    const asset = await fetch(srv.url(script!));
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/, 'hashed assets are cached for good');
    assert.equal((await fetch(srv.url('/dashboard/assets/nope.js'))).status, 404);
    // The API keeps its own, stricter CSP.
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/pricing')).headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'");

    await page.getByLabel('API key').fill('esl_' + 'A'.repeat(43));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /auth_invalid/);

    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await page.getByTestId('balance').waitFor();
    assert.equal(await page.getByTestId('balance').innerText(), '€5.00');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('easel.apiKey')), key, 'the key is in sessionStorage');
    assert.equal(await page.evaluate(() => localStorage.length), 0, 'and nowhere else');
    await screenshot(page, 'overview');
  });

  it('generates an image from the playground; a <script> prompt is shown as text', async () => {
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.getByRole('heading', { name: 'Playground', level: 1 }).waitFor();
    await page.getByLabel('Prompt', { exact: true }).fill(XSS);
    await page.getByLabel('Aspect ratio', { exact: true }).selectOption('16:9');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.getByTestId('image-result').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('image-prompt').innerText(), XSS);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=image-result] img')].every((i) => i.complete && i.naturalWidth > 0));
    const [w, h] = await page.locator('[data-testid=image-result] img').evaluate((i: HTMLImageElement) => [i.naturalWidth, i.naturalHeight]);
    assert.ok(w! > h!, `16:9 image is landscape (${w}×${h})`);
    assert.equal(await page.evaluate(() => document.querySelectorAll('main script').length), 0);
    assert.deepEqual(dialogs, []);
  });

  it(`submits a ${SCENES}-scene story and watches the progress reach ${SCENES}/${SCENES} without reloading`, async () => {
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
    await page.getByLabel('Storyboard JSON').fill(JSON.stringify(storyboard, null, 2));
    await page.getByRole('button', { name: 'Submit story' }).click();
    const progress = page.getByTestId('story-progress');
    await progress.waitFor();
    const seen: string[] = [];
    const deadline = Date.now() + 90_000;
    for (;;) {
      const text = (await progress.getByTestId('scene-progress').innerText().catch(() => '')).trim();
      if (text && seen[seen.length - 1] !== text) seen.push(text);
      if (text === `${SCENES}/${SCENES} scenes` && (await progress.getAttribute('data-status')) === 'completed') break;
      assert.ok(Date.now() < deadline, `progress stalled: ${seen.join(' → ')}`);
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.ok(seen.length >= 3, `progress moved live: ${seen.join(' → ')}`);
    // Portraits first ("drawing character portraits n/N"), then the scenes; never the other way round.
    const firstScene = seen.findIndex((s) => s.endsWith(' scenes'));
    assert.ok(seen.slice(firstScene).every((s) => s.endsWith(' scenes')), `portraits before scenes: ${seen.join(' → ')}`);
    for (const s of seen.slice(0, firstScene)) assert.match(s, /^drawing character portraits \d+\/\d+$/);
    const counts = seen.slice(firstScene).map((s) => Number(/^(\d+)\//.exec(s)?.[1]));
    assert.deepEqual([...counts].sort((a, b) => a - b), counts, 'progress never goes back');
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'no reload happened');
    storyId = (await progress.getByRole('link').first().getAttribute('href'))!.split('/').pop()!;
    await screenshot(page, 'playground-story');
  });

  it('opens the gallery: every scene in order and the portraits, every image rendered, prompts as text', async () => {
    await page.getByTestId('story-progress').getByRole('link', { name: 'Open in gallery' }).click();
    const strip = page.getByTestId('storyboard');
    await strip.waitFor();
    assert.equal(await strip.locator('img').count(), SCENES);
    assert.ok((await page.locator('.cast img').count()) >= 1, 'character portraits beside the strip');
    await page.waitForFunction(() => [...document.images].length > 0 && [...document.images].every((i) => i.complete), null, { timeout: 30_000 });
    const widths = await page.evaluate(() => [...document.images].map((i) => i.naturalWidth));
    assert.ok(widths.every((w) => w > 0), `every image rendered: ${widths}`);
    const captions = await strip.locator('figcaption .prompt').allInnerTexts();
    assert.deepEqual(captions, storyboard.scenes.map((s) => s.prompt), 'scenes in order, prompts verbatim');
    assert.equal(await page.evaluate(() => document.querySelectorAll('script').length), 1, 'only the bundle: the prompt added no script');
    assert.deepEqual(dialogs, [], 'no dialog fired');
    // Every scene is inside the page's width (none hidden past a scrollbar), and a portrait keeps its top (the head).
    const overflow = await strip.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, right: Math.max(...[...el.children].map((c) => c.getBoundingClientRect().right)), vw: document.documentElement.clientWidth }));
    assert.ok(overflow.scroll <= overflow.client + 1 && overflow.right <= overflow.vw, `scenes past the viewport: ${JSON.stringify(overflow)}`);
    assert.match(await page.locator('.cast img').first().evaluate((i) => getComputedStyle(i).objectPosition), /^50% 0(%|px)$/);
    await screenshot(page, 'gallery');
  });

  it('shows the job: timeline of events, cost, scene thumbnails, download links', async () => {
    await page.getByRole('link', { name: 'Job details' }).click();
    await page.getByRole('heading', { name: /story job/ }).waitFor();
    const timeline = page.getByTestId('timeline');
    await timeline.getByText(/job\.completed|completed/).first().waitFor();
    const entries = await timeline.locator('li').allInnerTexts();
    assert.ok(entries.length >= 2, `timeline: ${entries.join(' | ')}`);
    assert.match(await page.getByTestId('cost-charged').innerText(), /^€\d+\.\d+$/);
    assert.equal(await page.locator('.scene img').count(), SCENES);
    assert.ok((await page.locator('.downloads a').count()) >= SCENES * 3);
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('.scene img')].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30_000 });
    await screenshot(page, 'job-detail');

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByLabel('Operation').selectOption('story');
    await page.waitForFunction((id) => {
      const cards = document.querySelectorAll('.job-card');
      return cards.length === 1 && cards[0]!.getAttribute('data-job-id') === id;
    }, storyId);
    // The card says what the job is: its prompt, a thumbnail, and the id's random tail (not the shared time prefix).
    const card = page.locator('.job-card').first();
    assert.ok((await card.getByTestId('job-prompt').innerText()).length > 0);
    await card.getByTestId('job-thumb').waitFor();
    assert.equal(await card.locator('code.id').innerText(), storyId.replace(/-/g, '').slice(-8));
    // Image jobs have no "1/1 scenes".
    await page.getByLabel('Operation').selectOption('image');
    await page.waitForFunction(() => {
      const ops = [...document.querySelectorAll('.job-card .op')].map((o) => o.textContent);
      return ops.length > 0 && ops.every((o) => o === 'image');
    });
    assert.equal(await page.locator('.job-card [data-testid=scene-progress]').count(), 0);
    // A visited nav link looks like any other nav link.
    const colours = await page.evaluate(() => [...document.querySelectorAll('.top nav a:not([aria-current])')].map((a) => getComputedStyle(a).color));
    assert.equal(new Set(colours).size, 1, `nav link colours: ${colours}`);
    await page.getByLabel('Operation').selectOption('story');
    await screenshot(page, 'jobs');
  });

  it('creates a key and shows it once; a revoked key\'s next request is 401', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByLabel('New key name (optional)').fill('dash-temp');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-key').innerText()).trim();
    assert.match(secret, /^esl_[A-Za-z0-9]{43}$/);
    await screenshot(page, 'keys-created');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: secret })).status, 200, 'the new key works');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    await page.locator('tr[data-key-name="dash-temp"]').waitFor();
    assert.ok(!(await page.content()).includes(secret), 'the secret is shown once only');
    assert.equal((await page.locator('tr[data-key-name="dash-temp"] td[data-label="Scope"]').innerText()).trim(), 'generate', 'a key made here is a generate key unless admin is picked');

    await page.getByRole('button', { name: 'Revoke dash-temp' }).click();
    await page.getByRole('button', { name: 'Confirm revoke dash-temp' }).click();
    await page.locator('tr[data-key-name="dash-temp"]').getByText(/^revoked/).waitFor();
    const refused = await api(srv.baseUrl, 'GET', '/v1/account/profile', { key: secret });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.error, 'auth_invalid');
    assert.deepEqual(dialogs, [], 'revoking asks inline, not with a dialog');
    await screenshot(page, 'keys-revoked');

    // Signing in with the revoked key is refused in the page too.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /revoked/);
  });

  it('works at phone width and by keyboard', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByLabel('API key').fill(key);
    await page.getByLabel('API key').press('Enter');
    // Signing in keeps the page the address names (here the keys page, where we signed out).
    await page.getByRole('heading', { name: 'API keys', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByRole('heading', { name: 'Overview', level: 1 }).waitFor();
    await screenshot(page, 'phone-overview');
    await page.goto(srv.url(`/dashboard/#/gallery/${storyId}`));
    await page.getByTestId('storyboard').waitFor();
    await page.waitForFunction(() => [...document.images].length > 0 && [...document.images].every((i) => i.complete && i.naturalWidth > 0), null, { timeout: 30_000 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 1, `no sideways scrolling of the page at 390 px (${overflow}px)`);
    await screenshot(page, 'phone-gallery');

    // On a fresh load the first Tab reaches the skip link, which moves focus into the page.
    await page.reload();
    await page.getByTestId('storyboard').waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
    assert.deepEqual(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e)), [], 'nothing the page needs is blocked by its CSP');
    assert.deepEqual(dialogs, []);
  });
});
