import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { EaselProcess, api, download } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { assertSpecShape } from '../helpers/spec-shapes.js';
import { actionsOf, readC2pa, serverTrustAnchor, tamperPixels } from '../helpers/c2pa.js';
import { OpenAIFake } from '../fakes/openai-fake.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const TYPES = ['flowchart', 'sequence', 'architecture', 'mindmap', 'er', 'class', 'timeline', 'org-chart'] as const;

async function rgba(url: string) {
  const { data, info } = await sharp((await download(url)).bytes).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Colours (quantised to 4 bits per channel) that cover at least 0.5% of the picture. */
function mainColours(data: Buffer): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < data.length; i += 4) {
    const k = ((data[i]! >> 4) << 8) | ((data[i + 1]! >> 4) << 4) | (data[i + 2]! >> 4);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const px = data.length / 4;
  return [...counts.values()].filter((n) => n / px >= 0.005).length;
}

function whiteShare(data: Buffer): number {
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i]! > 245 && data[i + 1]! > 245 && data[i + 2]! > 245) n++;
  return n / (data.length / 4);
}

async function meanAbsDiff(a: string, b: string): Promise<number> {
  const px = async (u: string) => sharp((await download(u)).bytes).resize(128, 128, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const [x, y] = await Promise.all([px(a), px(b)]);
  let d = 0;
  for (let i = 0; i < x.length; i++) d += Math.abs(x[i]! - y[i]!);
  return d / x.length;
}

describe('POST /v1/generate/graphic and /v1/generate/diagram (offline renderer)', () => {
  let srv: EaselProcess;
  let key: string;
  let spent = 0;

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('graphics', '10');
  });
  // Optional chaining: a before() that failed must not leave a listener keeping the file alive.
  after(() => srv?.stop());

  const post = (p: string, body: unknown) => api(srv.baseUrl, 'POST', p, { key, body });

  it('a transparent graphic: png and webp with alpha (transparent surroundings, opaque icon), jpeg flattened; the generation response shape', async () => {
    const res = await post('/v1/generate/graphic', { prompt: 'a star logo for a rating app', transparent_background: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assertSpecShape('generation', res.body);
    spent += 20_000;
    assert.equal(res.headers.get('x-easel-job-id'), res.body.id);
    assert.equal(res.body.cost_eur, '0.020000');
    assert.equal(res.body.model, 'easel-sketch');
    for (const fmt of ['png', 'webp'] as const) {
      const f = res.body.formats[fmt];
      const bytes = (await download(f.url)).bytes;
      assert.equal(sha256(bytes), f.hash);
      const meta = await sharp(bytes).metadata();
      assert.equal(meta.format, fmt);
      assert.equal(meta.hasAlpha, true, `${fmt} has an alpha channel`);
      assert.deepEqual([meta.width, meta.height], [1024, 1024]);
      const { data, width } = await rgba(f.url);
      const alphaAt = (x: number, y: number) => data[(y * width + x) * 4 + 3]!;
      assert.equal(alphaAt(5, 5), 0, `${fmt}: corner transparent`);
      assert.equal(alphaAt(1018, 1018), 0, `${fmt}: corner transparent`);
      assert.equal(alphaAt(512, 512), 255, `${fmt}: the icon is opaque`);
    }
    const jpeg = await sharp((await download(res.body.formats.jpeg.url)).bytes).metadata();
    assert.equal(jpeg.format, 'jpeg');
    assert.equal(jpeg.hasAlpha, false);
    const job = await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key });
    assert.equal(job.body.operation, 'graphic');
    assert.equal(job.body.status, 'completed');
  });

  it('graphics are flat (a few colours) where an image of the same prompt is not, and wide frames get a UI element', async () => {
    const [graphic, image, wide] = await Promise.all([
      post('/v1/generate/graphic', { prompt: 'a mountain lake at sunrise', seed: 3 }),
      post('/v1/generate/image', { prompt: 'a mountain lake at sunrise', seed: 3 }),
      post('/v1/generate/graphic', { prompt: 'a subscribe button', aspect_ratio: '16:9' }),
    ]);
    for (const r of [graphic, image, wide]) assert.equal(r.status, 200, JSON.stringify(r.body));
    spent += 60_000;
    const g = await rgba(graphic.body.formats.png.url);
    const i = await rgba(image.body.formats.png.url);
    assert.equal((await sharp((await download(graphic.body.formats.png.url)).bytes).metadata()).hasAlpha, false, 'no alpha unless asked');
    assert.ok(mainColours(g.data) <= 6, `graphic main colours: ${mainColours(g.data)}`);
    assert.ok(mainColours(i.data) > mainColours(g.data) + 4, `image ${mainColours(i.data)} vs graphic ${mainColours(g.data)}`);
    assert.ok((await meanAbsDiff(graphic.body.formats.png.url, image.body.formats.png.url)) > 15);
    const w = await rgba(wide.body.formats.png.url);
    assert.deepEqual([w.width, w.height], [1024, 576]);
    assert.ok(mainColours(w.data) <= 6);
  });

  it('every diagram type renders, mostly white, each laid out differently; the job operation is diagram', async () => {
    const prompt = 'sign up -> verify email -> create profile -> invite team -> done';
    const res = await Promise.all(TYPES.map((type) => post('/v1/generate/diagram', { prompt, type, aspect_ratio: '4:3', seed: 1 })));
    res.forEach((r, k) => assert.equal(r.status, 200, `${TYPES[k]}: ${JSON.stringify(r.body)}`));
    spent += 20_000 * TYPES.length;
    for (const [k, r] of res.entries()) {
      const d = await rgba(r.body.formats.png.url);
      assert.deepEqual([d.width, d.height], [1024, 768], TYPES[k]);
      assert.ok(whiteShare(d.data) > 0.4, `${TYPES[k]}: white share ${whiteShare(d.data).toFixed(2)}`);
      assert.ok(mainColours(d.data) >= 2, `${TYPES[k]} draws something`);
    }
    for (let a = 0; a < res.length; a++) {
      for (let b = a + 1; b < res.length; b++) {
        const mad = await meanAbsDiff(res[a]!.body.formats.png.url, res[b]!.body.formats.png.url);
        assert.ok(mad > 2, `${TYPES[a]} vs ${TYPES[b]}: ${mad.toFixed(2)}`);
      }
    }
    const job = await api(srv.baseUrl, 'GET', `/v1/jobs/${res[0]!.body.id}`, { key });
    assert.equal(job.body.operation, 'diagram');
  });

  it('type defaults to flowchart; same prompt and seed give the same diagram; the prompt\'s list sets the node count', async () => {
    const [dflt, flow, other] = await Promise.all([
      post('/v1/generate/diagram', { prompt: 'a, b, c', seed: 9 }),
      post('/v1/generate/diagram', { prompt: 'a, b, c', seed: 9, type: 'flowchart' }),
      post('/v1/generate/diagram', { prompt: 'a, b, c, d, e, f, g', seed: 9, type: 'flowchart' }),
    ]);
    for (const r of [dflt, flow, other]) assert.equal(r.status, 200, JSON.stringify(r.body));
    spent += 60_000;
    const px = async (u: string) => sharp((await download(u)).bytes).raw().toBuffer();
    assert.ok((await px(dflt.body.formats.png.url)).equals(await px(flow.body.formats.png.url)));
    assert.ok(!(await px(flow.body.formats.png.url)).equals(await px(other.body.formats.png.url)));
  });

  it('validation: an unknown diagram type, type on a graphic, too many references, a non-boolean flag; nothing is charged', async () => {
    const before = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur;
    const unknown = await post('/v1/generate/diagram', { prompt: 'x', type: 'gantt' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error, 'bad_request');
    assert.equal(unknown.body.details.fields[0].path, 'type');
    assert.match(unknown.body.details.fields[0].message, /flowchart, sequence, architecture, mindmap, er, class, timeline, org-chart/);
    const typeOnGraphic = await post('/v1/generate/graphic', { prompt: 'x', type: 'flowchart' });
    assert.equal(typeOnGraphic.status, 400);
    assert.equal(typeOnGraphic.body.details.fields[0].path, 'type');
    const refs = Array.from({ length: 6 }, (_, i) => ({ url: `https://example.com/${i}.png`, description: 'ref' }));
    const tooMany = await post('/v1/generate/graphic', { prompt: 'x', reference_images: refs });
    assert.equal(tooMany.status, 422);
    assert.equal(tooMany.body.error, 'validation_failed');
    assert.equal(tooMany.body.details.fields[0].path, 'reference_images');
    const flag = await post('/v1/generate/graphic', { prompt: 'x', transparent_background: 'yes' });
    assert.equal(flag.status, 400);
    const missing = await post('/v1/generate/diagram', { type: 'er' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.details.fields[0].path, 'prompt');
    const unknownModel = await post('/v1/generate/diagram', { prompt: 'x', model: 'nope' });
    assert.equal(unknownModel.status, 422);
    assert.equal(unknownModel.body.error, 'model_not_found');
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user.balance_eur, before);
  });

  it('the cheaper generate-only model makes graphics and diagrams too, at its own price', async () => {
    const r = await post('/v1/generate/diagram', { prompt: 'ceo, cto, cfo, engineers', type: 'org-chart', model: 'sketch-fast' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    spent += 10_000;
    assert.equal(r.body.model, 'easel-sketch-fast');
    assert.equal(r.body.cost_eur, '0.010000');
  });

  it('every format of an image, a graphic and a diagram carries a signed C2PA manifest (Trusted with our CA; Invalid once tampered) and its hash is that of the served bytes', async () => {
    const ca = serverTrustAnchor(srv.dataDir);
    const outs = await Promise.all([
      post('/v1/generate/image', { prompt: 'a paper boat on a pond' }),
      post('/v1/generate/graphic', { prompt: 'a gear icon', transparent_background: true }),
      post('/v1/generate/diagram', { prompt: 'web -> api -> db', type: 'architecture' }),
    ]);
    spent += 60_000;
    for (const r of outs) {
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.ai_generated, true);
      assert.equal(r.body.image_hash, r.body.formats.png.hash);
      for (const fmt of ['png', 'jpeg', 'webp'] as const) {
        const f = r.body.formats[fmt];
        const dl = await download(f.url);
        assert.equal(sha256(dl.bytes), f.hash, `${fmt}: hash of the served bytes`);
        assert.equal(dl.bytes.length, f.size_bytes);
        const c = await readC2pa(dl.bytes, fmt, ca);
        assert.equal(c.state, 'Trusted', `${fmt}: ${c.failures.join(', ')}`);
        const [created] = actionsOf(c.manifest);
        assert.equal(created.action, 'c2pa.created');
        assert.equal(created.digitalSourceType, AI);
        assert.equal(created.softwareAgent.name, 'Easel');
        assert.equal(created.parameters['org.easel.model'], 'easel-sketch');
        assert.match((await sharp(dl.bytes).metadata()).xmp!.toString('utf8'), /trainedAlgorithmicMedia/, `${fmt} keeps the IPTC XMP`);
        const bad = await readC2pa(tamperPixels(dl.bytes, fmt), fmt, ca);
        assert.equal(bad.state, 'Invalid', `${fmt} tampered`);
      }
    }
  });

  it('charges exactly the model price per generation; the ledger audit balances', async () => {
    const profile = (await api(srv.baseUrl, 'GET', '/v1/account/profile', { key })).body.user;
    assert.equal(profile.held_eur, '0.000000');
    assert.equal(profile.balance_eur, ((10_000_000 - spent) / 1e6).toFixed(6));
    const audit = await auditLedger(srv, 'graphics');
    assert.equal(audit.available, audit.ledgerAvailable);
    assert.equal(audit.held, 0);
    assert.equal(audit.ledgerHeld, 0);
    assert.equal(audit.captures, spent);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    assert.deepEqual(audit.chargeMismatches, []);
  });

  it('the OpenAPI document describes both endpoints, the diagram types and the Easel fields', async () => {
    const doc = (await api(srv.baseUrl, 'GET', '/v1/openapi.json')).body;
    const graphic = doc.paths['/v1/generate/graphic'].post;
    const diagram = doc.paths['/v1/generate/diagram'].post;
    assert.match(graphic.summary, /icon, logo or UI element/);
    const gSchema = graphic.requestBody.content['application/json'].schema;
    assert.ok(gSchema.properties.transparent_background && gSchema.properties.raw_prompt);
    const dSchema = diagram.requestBody.content['application/json'].schema;
    assert.deepEqual(dSchema.properties.type.enum, [...TYPES]);
    assert.match(dSchema.properties.type.description, /type/);
  });
});

describe('graphic and diagram templates, sent to a vendor model', () => {
  const OPENAI_KEY = 'sk-test-templates-0001';
  let openai: OpenAIFake;
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    openai = await OpenAIFake.start({ apiKey: OPENAI_KEY });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-templates-'));
    const file = path.join(dir, 'models.yaml');
    fs.writeFileSync(
      file,
      `models:
  - { id: gpt-image-1, name: GPT Image, description: OpenAI, provider: openai, vendor_model: gpt-image-1, operations: [generate, edit, combine], price_eur: "0.045000", fixed_sizes: [1024x1024] }
`,
    );
    srv = await EaselProcess.start({ env: { EASEL_MODELS_FILE: file, EASEL_OPENAI_API_KEY: OPENAI_KEY, EASEL_OPENAI_BASE_URL: openai.baseUrl } });
    key = await srv.createKey('templates', '5');
  });
  after(async () => {
    await Promise.allSettled([srv?.stop(), openai?.close()]);
  });

  const lastPrompt = () => String(openai.requests.filter((r) => r.kind === 'generations').at(-1)!.json!.prompt);

  it('wraps each content type in its own template, and raw_prompt sends the prompt as written', async () => {
    const g = await api(srv.baseUrl, 'POST', '/v1/generate/graphic', { key, body: { prompt: 'a fox mascot' } });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    assert.equal(g.body.cost_eur, '0.045000');
    assert.match(lastPrompt(), /^A clean graphic \(icon, logo or UI element\): a fox mascot/);
    assert.match(lastPrompt(), /Flat vector style, crisp clean edges/);

    const d = await api(srv.baseUrl, 'POST', '/v1/generate/diagram', { key, body: { prompt: 'client, server, database', type: 'sequence' } });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.match(lastPrompt(), /UML sequence diagram/);
    assert.match(lastPrompt(), /Content: client, server, database/);

    const i = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a fox in the snow' } });
    assert.equal(i.status, 200);
    assert.match(lastPrompt(), /^a fox in the snow\n\nA finished, high-quality image/);

    for (const p of ['/v1/generate/graphic', '/v1/generate/diagram', '/v1/generate/image']) {
      const raw = await api(srv.baseUrl, 'POST', p, { key, body: { prompt: `exactly this ${p}`, raw_prompt: true } });
      assert.equal(raw.status, 200);
      assert.equal(lastPrompt(), `exactly this ${p}`);
    }
  });

  it('transparent_background from a model that paints a solid backdrop: the backdrop is cut out, so the outputs still have alpha', async () => {
    const g = await api(srv.baseUrl, 'POST', '/v1/generate/graphic', { key, body: { prompt: 'a shield badge', transparent_background: true } });
    assert.equal(g.status, 200, JSON.stringify(g.body));
    assert.match(lastPrompt(), /Transparent background \(alpha channel\)/);
    const { data, info } = await sharp((await download(g.body.formats.png.url)).bytes).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.channels, 4);
    assert.equal(data[3], 0, 'the solid backdrop became transparent');
  });
});
