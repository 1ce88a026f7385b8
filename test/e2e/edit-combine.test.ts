import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download, type ApiResponse } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { actionsOf, readC2pa, serverTrustAnchor } from '../helpers/c2pa.js';
import { ImageServer } from '../helpers/image-server.js';
import { OpenAIFake } from '../fakes/openai-fake.js';
import { renderSketch } from '../../src/providers/sketch/render.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';

const solid = (w: number, h: number, c: string) => sharp({ create: { width: w, height: h, channels: 3, background: c } });
/** A red disc on white: something with a background to remove. */
const disc = () =>
  sharp(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400"><rect width="400" height="400" fill="#ffffff"/><circle cx="200" cy="200" r="120" fill="#cc2222"/></svg>')).png().toBuffer();

async function meanRgb(bytes: Buffer, region?: { left: number; top: number; width: number; height: number }): Promise<[number, number, number]> {
  // stats() reads its input, not the pipeline: cut the region out first.
  const cut = region ? await sharp(bytes).extract(region).png().toBuffer() : bytes;
  const { channels } = await sharp(cut).removeAlpha().stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}

/** multipart/form-data with files (field, bytes, type) and text fields, sent with fetch's FormData. */
async function form(base: string, p: string, key: string, files: [string, Buffer, string][], fields: Record<string, string>): Promise<ApiResponse> {
  const fd = new FormData();
  for (const [k, v] of Object.entries(fields)) fd.append(k, v);
  files.forEach(([field, bytes, type], i) => fd.append(field, new Blob([new Uint8Array(bytes)], { type }), `file-${i}`));
  const res = await fetch(base + p, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: fd });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text };
}

describe('POST /v1/edit/* and /v1/combine/* (offline renderer)', () => {
  let srv: EaselProcess;
  let web: ImageServer;
  let key: string;
  let spent = 0;
  const files: Record<string, Buffer> = {};
  const urls: Record<string, string> = {};

  before(async () => {
    web = await ImageServer.start();
    files.red = await solid(800, 600, '#dd2222').png().toBuffer();
    files.blue = await solid(800, 600, '#2233dd').jpeg().toBuffer();
    files.green = await solid(600, 800, '#22aa44').webp().toBuffer();
    files.yellow = await solid(400, 400, '#eecc22').png().toBuffer();
    files.purple = await solid(400, 400, '#8833aa').png().toBuffer();
    files.scene = await renderSketch({ prompt: 'a harbour with boats', seed: 2, width: 640, height: 480 });
    files.disc = await disc();
    urls.red = web.serve('/in/red.png', files.red, 'image/png');
    urls.blue = web.serve('/in/blue.jpg', files.blue, 'image/jpeg');
    urls.green = web.serve('/in/green.webp', files.green, 'image/webp');
    urls.yellow = web.serve('/in/yellow.png', files.yellow, 'image/png');
    urls.purple = web.serve('/in/purple.png', files.purple, 'image/png');
    urls.scene = web.serve('/in/scene.png', files.scene, 'image/png');
    urls.text = web.serve('/in/notes.txt', Buffer.from('not an image'), 'image/png');
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    key = await srv.createKey('editor', '10');
  });
  after(async () => {
    await Promise.allSettled([srv?.stop(), web?.close()]);
  });

  const post = (p: string, body: unknown) => api(srv.baseUrl, 'POST', p, { key, body });
  const balance = async () => (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur as string;
  const jobCount = async () => (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total as number;

  it('edit (JSON image_url): the instruction is applied to the input, the output follows its shape, and the C2PA manifest names it as parent', async () => {
    const res = await post('/v1/edit/image', { image_url: urls.scene, prompt: 'make it warmer' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertSpecShape('generation', res.body);
    spent += 20_000;
    assert.equal(res.body.cost_eur, '0.020000');
    assert.equal(res.body.model, 'easel-sketch');
    assert.equal(res.headers.get('x-depicta-job-id'), res.body.id);
    const png = (await download(res.body.formats.png.url)).bytes;
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 1024, 768], '640x480 in → 4:3 out');
    const [ri, , bi] = await meanRgb(files.scene!);
    const [ro, , bo] = await meanRgb(png);
    assert.ok(ro - bo > ri - bi + 10, `warmer: red-blue ${(ri - bi).toFixed(1)} → ${(ro - bo).toFixed(1)}`);
    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key })).body;
    assert.equal(job.operation, 'edit_image');
    assert.equal(job.status, 'completed');

    const ca = serverTrustAnchor(srv.dataDir);
    for (const fmt of ['png', 'jpeg', 'webp'] as const) {
      const bytes = (await download(res.body.formats[fmt].url)).bytes;
      assert.equal(sha256(bytes), res.body.formats[fmt].hash);
      const c = await readC2pa(bytes, fmt, ca);
      assert.equal(c.state, 'Trusted', `${fmt}: ${c.failures.join(', ')}`);
      const actions = actionsOf(c.manifest);
      assert.deepEqual(actions.map((a) => a.action), ['c2pa.opened', 'c2pa.edited']);
      assert.equal(actions[1].digitalSourceType, AI);
      assert.equal(actions[1].parameters['org.easel.model'], 'easel-sketch');
      assert.deepEqual(c.manifest.ingredients.map((i: any) => [i.title, i.relationship]), [['input 1 (image_url)', 'parentOf']]);
    }
  });

  it('edit is deterministic for the same input, instruction and seed; aspect_ratio and image_size are honoured', async () => {
    const body = { image_url: urls.red, prompt: 'add a small sun', seed: 4, aspect_ratio: '1:1', image_size: '2K' };
    const [a, b] = await Promise.all([post('/v1/edit/image', body), post('/v1/edit/image', body)]);
    assert.equal(a.status, 200, JSON.stringify(a.body));
    assert.equal(b.status, 200);
    spent += 40_000;
    const px = async (u: string) => sharp((await download(u)).bytes).raw().toBuffer({ resolveWithObject: true });
    const [pa, pb] = await Promise.all([px(a.body.formats.png.url), px(b.body.formats.png.url)]);
    assert.deepEqual([pa.info.width, pa.info.height], [2048, 2048]);
    assert.ok(pa.data.equals(pb.data), 'same pixels');
    const [r, g, bl] = await meanRgb((await download(a.body.formats.png.url)).bytes);
    assert.ok(r > 150 && !(g > 200 && bl > 200), 'still the red input underneath the added motif');
  });

  it('edit graphic (multipart file "image"): "remove the background" gives transparent surroundings', async () => {
    const res = await form(srv.baseUrl, '/v1/edit/graphic', key, [['image', files.disc!, 'image/png']], { prompt: 'remove the background', aspect_ratio: '1:1' });
    assert.equal(res.status, 200, res.text);
    spent += 20_000;
    const { data, info } = await sharp((await download(res.body.formats.png.url)).bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    assert.equal(data[3], 0, 'corner transparent');
    const centre = (512 * info.width + 512) * 4;
    assert.equal(data[centre + 3], 255, 'the disc stays');
    assert.ok(data[centre]! > 150 && data[centre + 2]! < 100, 'and stays red');
    assert.equal((await sharp((await download(res.body.formats.webp.url)).bytes).metadata()).hasAlpha, true);
    const c = await readC2pa((await download(res.body.formats.png.url)).bytes, 'png', serverTrustAnchor(srv.dataDir));
    assert.equal(c.manifest.ingredients[0].title, 'input 1 (image)');
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key })).body.operation, 'edit_graphic');
  });

  it('edit diagram from one of our own signed URLs: read from storage, not fetched; the parent keeps its credentials', async () => {
    const d = await post('/v1/generate/diagram', { prompt: 'login -> dashboard -> logout', type: 'flowchart', aspect_ratio: '16:9' });
    assert.equal(d.status, 200);
    const hits = web.hits.length;
    const res = await post('/v1/edit/diagram', { image_url: d.body.formats.png.url, prompt: 'add a step for billing', type: 'flowchart' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    spent += 40_000;
    assert.equal(web.hits.length, hits, 'no outside fetch');
    const out = (await download(res.body.formats.png.url)).bytes;
    assert.deepEqual([(await sharp(out).metadata()).width, (await sharp(out).metadata()).height], [1024, 576]);
    const before = await sharp((await download(d.body.formats.png.url)).bytes).raw().toBuffer();
    assert.ok(!before.equals(await sharp(out).raw().toBuffer()), 'the diagram changed');
    const c = await readC2pa(out, 'png', serverTrustAnchor(srv.dataDir));
    assert.equal(c.state, 'Trusted');
    assert.ok(c.manifest.ingredients[0].active_manifest, 'the generated parent\'s own manifest is in the chain');
  });

  it('combine (JSON input_image_urls): the inputs are tiled in order as the prompt arranges them; inputs are C2PA components', async () => {
    const res = await post('/v1/combine/image', { input_image_urls: [urls.red, urls.blue], prompt: 'side by side', aspect_ratio: '16:9' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertSpecShape('generation', res.body);
    spent += 20_000;
    const png = (await download(res.body.formats.png.url)).bytes;
    assert.deepEqual([(await sharp(png).metadata()).width, (await sharp(png).metadata()).height], [1024, 576]);
    const [lr, , lb] = await meanRgb(png, { left: 100, top: 200, width: 200, height: 150 });
    const [rr, , rb] = await meanRgb(png, { left: 724, top: 200, width: 200, height: 150 });
    assert.ok(lr > 180 && lb < 80, `left is the red input (${lr.toFixed(0)}, ${lb.toFixed(0)})`);
    assert.ok(rb > 180 && rr < 80, `right is the blue input (${rr.toFixed(0)}, ${rb.toFixed(0)})`);
    const c = await readC2pa(png, 'png', serverTrustAnchor(srv.dataDir));
    assert.equal(c.state, 'Trusted', c.failures.join(', '));
    assert.deepEqual(actionsOf(c.manifest).map((a) => a.action), ['c2pa.created']);
    assert.deepEqual(c.manifest.ingredients.map((i: any) => i.relationship), ['componentOf', 'componentOf']);
    assert.equal((await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key })).body.operation, 'combine_image');
  });

  it('combine graphic (multipart, repeated "images", mixed formats) with a transparent background; stacked vertically', async () => {
    const res = await form(
      srv.baseUrl,
      '/v1/combine/graphic',
      key,
      [['images', files.red!, 'image/png'], ['images', files.blue!, 'image/jpeg'], ['images', files.green!, 'image/webp']],
      { prompt: 'stacked', transparent_background: 'true', aspect_ratio: '9:16', seed: '3' },
    );
    assert.equal(res.status, 200, res.text);
    spent += 20_000;
    const { data, info } = await sharp((await download(res.body.formats.png.url)).bytes).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [576, 1024, 4]);
    assert.equal(data[3], 0, 'the gutter is transparent');
    const at = (x: number, y: number) => [...data.subarray((y * info.width + x) * 4, (y * info.width + x) * 4 + 3)];
    const [r1, , b1] = at(288, 170);
    const [r2, , b2] = at(288, 512);
    const [r3, g3] = at(288, 850);
    assert.ok(r1! > 180 && b1! < 80, 'first: red');
    assert.ok(b2! > 180 && r2! < 80, 'second: blue');
    assert.ok(g3! > 130 && r3! < 80, 'third: green');
  });

  it('combine diagram takes up to the API-wide 5 inputs', async () => {
    const res = await post('/v1/combine/diagram', { input_image_urls: [urls.red, urls.blue, urls.green, urls.yellow, urls.purple], prompt: 'merge the sections' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    spent += 20_000;
    assert.equal((await readC2pa((await download(res.body.formats.png.url)).bytes, 'png')).manifest.ingredients.length, 5);
  });

  it('validation before any charge: input counts, missing image, references, capability, URLs, file types, fields', async () => {
    const before = await balance();
    const jobs = await jobCount();
    const refs = JSON.stringify(Array.from({ length: 6 }, (_, i) => ({ url: `https://example.com/${i}.png`, description: 'r' })));
    const cases: [string, Promise<ApiResponse>, number, string, string?][] = [
      ['combine 1 url', post('/v1/combine/image', { input_image_urls: [urls.red], prompt: 'x' }), 422, 'validation_failed', 'input_image_urls'],
      ['combine 6 urls', post('/v1/combine/image', { input_image_urls: Array(6).fill(urls.red), prompt: 'x' }), 422, 'validation_failed', 'input_image_urls'],
      ['combine 1 file', form(srv.baseUrl, '/v1/combine/image', key, [['images', files.red!, 'image/png']], { prompt: 'x' }), 422, 'validation_failed', 'images'],
      ['combine 6 files', form(srv.baseUrl, '/v1/combine/graphic', key, Array.from({ length: 6 }, () => ['images', files.yellow!, 'image/png'] as [string, Buffer, string]), { prompt: 'x' }), 422, 'validation_failed', 'images'],
      ['combine 7 files', form(srv.baseUrl, '/v1/combine/graphic', key, Array.from({ length: 7 }, () => ['images', files.yellow!, 'image/png'] as [string, Buffer, string]), { prompt: 'x' }), 422, 'validation_failed', 'images'],
      ['edit without image_url', post('/v1/edit/image', { prompt: 'x' }), 400, 'bad_request', 'image_url'],
      ['edit without any body', api(srv.baseUrl, 'POST', '/v1/edit/image', { key }), 400, 'bad_request'],
      ['combine with a text body', api(srv.baseUrl, 'POST', '/v1/combine/image', { key, rawBody: 'hello', headers: { 'content-type': 'text/plain' } }), 400, 'bad_request'],
      ['edit multipart without file', form(srv.baseUrl, '/v1/edit/image', key, [], { prompt: 'x' }), 400, 'bad_request', 'image'],
      ['edit multipart two files', form(srv.baseUrl, '/v1/edit/image', key, [['image', files.red!, 'image/png'], ['image', files.red!, 'image/png']], { prompt: 'x' }), 422, 'validation_failed', 'image'],
      ['edit without prompt (multipart)', form(srv.baseUrl, '/v1/edit/image', key, [['image', files.red!, 'image/png']], {}), 400, 'bad_request', 'prompt'],
      ['edit 6 references', post('/v1/edit/image', { image_url: urls.red, prompt: 'x', reference_images: JSON.parse(refs) }), 422, 'validation_failed', 'reference_images'],
      ['edit 6 references (multipart)', form(srv.baseUrl, '/v1/edit/image', key, [['image', files.red!, 'image/png']], { prompt: 'x', reference_images: refs }), 422, 'validation_failed', 'reference_images'],
      ['combine 6 references', post('/v1/combine/image', { input_image_urls: [urls.red, urls.blue], prompt: 'x', reference_images: JSON.parse(refs) }), 422, 'validation_failed', 'reference_images'],
      ['edit on generate-only model', post('/v1/edit/image', { image_url: urls.red, prompt: 'x', model: 'easel-sketch-fast' }), 422, 'model_not_capable'],
      ['edit on generate-only model (multipart)', form(srv.baseUrl, '/v1/edit/graphic', key, [['image', files.red!, 'image/png']], { prompt: 'x', model: 'sketch-fast' }), 422, 'model_not_capable'],
      ['combine on generate-only model', post('/v1/combine/diagram', { input_image_urls: [urls.red, urls.blue], prompt: 'x', model: 'easel-sketch-fast' }), 422, 'model_not_capable'],
      ['unknown model', post('/v1/combine/image', { input_image_urls: [urls.red, urls.blue], prompt: 'x', model: 'nope' }), 422, 'model_not_found'],
      ['ftp url', post('/v1/edit/image', { image_url: 'ftp://example.com/a.png', prompt: 'x' }), 400, 'bad_request', 'image_url'],
      ['ftp url in combine', post('/v1/combine/image', { input_image_urls: [urls.red, 'ftp://example.com/a.png'], prompt: 'x' }), 400, 'bad_request', 'input_image_urls[1]'],
      ['not a url', post('/v1/edit/image', { image_url: 'red.png', prompt: 'x' }), 400, 'bad_request', 'image_url'],
      ['not an image (multipart)', form(srv.baseUrl, '/v1/edit/image', key, [['image', Buffer.from('hello'), 'image/png']], { prompt: 'x' }), 415, 'bad_request', 'image'],
      ['unknown file field', form(srv.baseUrl, '/v1/edit/image', key, [['picture', files.red!, 'image/png']], { prompt: 'x' }), 400, 'bad_request', 'picture'],
      ['unknown form field', form(srv.baseUrl, '/v1/edit/image', key, [['image', files.red!, 'image/png']], { prompt: 'x', colour: 'red' }), 400, 'bad_request', 'colour'],
      ['bad seed (multipart)', form(srv.baseUrl, '/v1/edit/image', key, [['image', files.red!, 'image/png']], { prompt: 'x', seed: 'abc' }), 400, 'bad_request', 'seed'],
      ['unknown diagram type', post('/v1/edit/diagram', { image_url: urls.red, prompt: 'x', type: 'gantt' }), 400, 'bad_request', 'type'],
      ['transparent on an image edit', post('/v1/edit/image', { image_url: urls.red, prompt: 'x', transparent_background: true }), 400, 'bad_request', 'transparent_background'],
      ['moderated instruction', post('/v1/edit/image', { image_url: urls.red, prompt: 'add graphic gore and a dismembered body' }), 403, 'content_rejected'],
    ];
    for (const [name, pending, status, code, field] of cases) {
      const r = await pending;
      assert.equal(r.status, status, `${name}: ${r.text}`);
      assert.equal(r.body.error, code, name);
      assert.ok(r.body.request_id, name);
      if (field) assert.equal(r.body.details.fields[0].path, field, `${name}: ${JSON.stringify(r.body.details)}`);
    }
    const cap = (await post('/v1/edit/image', { image_url: urls.red, prompt: 'x', model: 'easel-sketch-fast' })).body;
    assert.match(cap.message, /easel-sketch-fast/);
    assert.equal(cap.details.operation, 'edit');
    assert.equal(await balance(), before, 'nothing charged');
    assert.equal(await jobCount(), jobs, 'no job created');
  });

  it('an input URL that fails when the job runs (404, not an image) fails the job with 422 and charges nothing', async () => {
    const before = await balance();
    const missing = await post('/v1/edit/image', { image_url: `${web.baseUrl}/in/gone.png`, prompt: 'x' });
    assert.equal(missing.status, 422, JSON.stringify(missing.body));
    assert.equal(missing.body.error, 'validation_failed');
    assert.match(missing.body.message, /image_url/);
    assert.equal(missing.body.details.job_error_code, 'reference_unavailable');
    assert.equal(missing.body.details.fields[0].path, 'image_url');
    const notImage = await post('/v1/combine/image', { input_image_urls: [urls.red, urls.text], prompt: 'x' });
    assert.equal(notImage.status, 422, JSON.stringify(notImage.body));
    assert.match(notImage.body.message, /input_image_urls\[1\]/);
    const job = (await api(srv.baseUrl, 'GET', `/v1/jobs/${missing.body.details.job_id}`, { key })).body;
    assert.equal(job.status, 'failed');
    assert.equal(job.error.code, 'reference_unavailable');
    assert.equal(await balance(), before);
  });

  it('charges exactly the model price per edit and combine; the ledger audit balances', async () => {
    const p = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.equal(p.held_eur, '0.000000');
    assert.equal(p.balance_eur, ((10_000_000 - spent) / 1e6).toFixed(6));
    const audit = await auditLedger(srv, 'editor');
    assert.equal(audit.available, audit.ledgerAvailable);
    assert.equal(audit.ledgerHeld, 0);
    assert.equal(audit.captures, spent);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('the OpenAPI document has both body forms for every edit and combine endpoint', async () => {
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    for (const kind of ['image', 'graphic', 'diagram']) {
      const edit = doc.paths[`/v1/edit/${kind}`].post;
      assert.ok(edit.requestBody.content['application/json'].schema.properties.image_url, `edit ${kind} json`);
      assert.equal(edit.requestBody.content['multipart/form-data'].schema.properties.image.format, 'binary');
      const combine = doc.paths[`/v1/combine/${kind}`].post;
      assert.equal(combine.requestBody.content['application/json'].schema.properties.input_image_urls.maxItems, 5);
      assert.equal(combine.requestBody.content['multipart/form-data'].schema.properties.images.type, 'array');
      assert.match(combine.description, /max_combine_inputs/);
    }
  });
});

describe('edit and combine with a model cap and through a vendor adapter', () => {
  const OPENAI_KEY = 'sk-test-edit-combine-0002';
  let openai: OpenAIFake;
  let web: ImageServer;
  let srv: EaselProcess;
  let key: string;
  let red: string;
  let blue: string;
  let green: string;

  before(async () => {
    openai = await OpenAIFake.start({ apiKey: OPENAI_KEY });
    web = await ImageServer.start();
    red = web.serve('/red.png', await solid(300, 300, '#dd2222').png().toBuffer(), 'image/png');
    blue = web.serve('/blue.png', await solid(300, 300, '#2233dd').png().toBuffer(), 'image/png');
    green = web.serve('/green.png', await solid(300, 300, '#22aa44').png().toBuffer(), 'image/png');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-editcap-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `models:
  - { id: sketch-pair, name: Sketch pair, description: combines two at most, provider: sketch, operations: [generate, edit, combine], price_eur: "0.030000", max_input_images: 2 }
  - { id: gpt-image-1, name: GPT Image, description: OpenAI, provider: openai, vendor_model: gpt-image-1, operations: [generate, edit, combine], price_eur: "0.045000", fixed_sizes: [1024x1024] }
`,
    );
    srv = await EaselProcess.start({
      env: { EASEL_MODELS_FILE: file, EASEL_ALLOW_LOOPBACK_URLS: 'true', EASEL_OPENAI_API_KEY: OPENAI_KEY, EASEL_OPENAI_BASE_URL: openai.baseUrl },
    });
    key = await srv.createKey('capped', '5');
  });
  after(async () => {
    await Promise.allSettled([srv?.stop(), openai?.close(), web?.close()]);
  });

  it('a model\'s max_combine_inputs is enforced (422 naming the model and its cap) for URLs and files alike, before any charge', async () => {
    const models = (await api(srv.baseUrl, 'GET', '/v1/models', { key })).body.models;
    assert.equal(models.find((m: any) => m.id === 'sketch-pair').max_combine_inputs, 2);
    const three = await api(srv.baseUrl, 'POST', '/v1/combine/image', { key, body: { input_image_urls: [red, blue, green], prompt: 'x', model: 'sketch-pair' } });
    assert.equal(three.status, 422);
    assert.equal(three.body.error, 'validation_failed');
    assert.match(three.body.message, /"sketch-pair" combines at most 2 images/);
    assert.equal(three.body.details.max_combine_inputs, 2);
    assert.equal(three.body.details.fields[0].path, 'input_image_urls');
    const png = await solid(50, 50, '#ffffff').png().toBuffer();
    const threeFiles = await form(srv.baseUrl, '/v1/combine/graphic', key, [['images', png, 'image/png'], ['images', png, 'image/png'], ['images', png, 'image/png']], { prompt: 'x', model: 'sketch-pair' });
    assert.equal(threeFiles.status, 422, threeFiles.text);
    assert.equal(threeFiles.body.details.fields[0].path, 'images');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur, '5.000000');
    const two = await api(srv.baseUrl, 'POST', '/v1/combine/image', { key, body: { input_image_urls: [red, blue], prompt: 'x', model: 'sketch-pair' } });
    assert.equal(two.status, 200, JSON.stringify(two.body));
    assert.equal(two.body.cost_eur, '0.030000');
  });

  it('a vendor gets the input images and the edit/combine templates (raw_prompt: as written)', async () => {
    const edit = await api(srv.baseUrl, 'POST', '/v1/edit/image', { key, body: { image_url: red, prompt: 'make it warmer', model: 'gpt-image-1' } });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal(edit.body.cost_eur, '0.045000');
    let call = openai.requests.filter((r) => r.kind === 'edits').at(-1)!;
    assert.match(call.fields!.prompt!, /^Edit the given image: make it warmer/);
    assert.equal(call.files!.length, 1);
    assert.deepEqual(call.files![0]!.rgb.map((v) => Math.round(v)), [0xdd, 0x22, 0x22], 'the input image itself was sent');

    const combine = await api(srv.baseUrl, 'POST', '/v1/combine/graphic', { key, body: { input_image_urls: [red, blue, green], prompt: 'logo on a shirt', model: 'gpt-image-1' } });
    assert.equal(combine.status, 200, JSON.stringify(combine.body));
    call = openai.requests.filter((r) => r.kind === 'edits').at(-1)!;
    assert.match(call.fields!.prompt!, /^Combine the 3 given graphics into one clean graphic: logo on a shirt/);
    assert.equal(call.files!.length, 3);

    const raw = await api(srv.baseUrl, 'POST', '/v1/edit/diagram', { key, body: { image_url: blue, prompt: 'exactly this', raw_prompt: true, model: 'gpt-image-1' } });
    assert.equal(raw.status, 200);
    assert.equal(openai.requests.filter((r) => r.kind === 'edits').at(-1)!.fields!.prompt, 'exactly this');
    const audit = await auditLedger(srv, 'capped');
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.equal(audit.captures, 30_000 + 3 * 45_000);
  });
});
