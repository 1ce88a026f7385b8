import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EaselProcess, MODE, api, download, type ApiResponse } from '../helpers/server.js';
import { circleOnPlain, noise, pixel, near, quadrants, withCaption } from '../helpers/images.js';

/** Sends one multipart upload the way a browser or curl -F would. */
async function upload(
  base: string,
  key: string,
  bytes: Buffer,
  opts: { filename?: string; type?: string; field?: string; extra?: Record<string, string> } = {},
): Promise<ApiResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(opts.extra ?? {})) form.append(k, v);
  form.append(opts.field ?? 'image', new Blob([new Uint8Array(bytes)], { type: opts.type ?? 'image/png' }), opts.filename ?? 'image.png');
  const res = await fetch(`${base}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text, text };
}

const profile = async (base: string, key: string) => (await api(base, 'GET', '/v1/account/profile', { key })).body.user;

describe(`POST /v1/upload (${MODE})`, () => {
  // No EASEL_ALLOW_LOOPBACK_URLS here: an upload URL works as an input only because Easel
  // recognises it as its own, never through the public-internet fetcher.
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('uploader', '5');
  });
  after(() => srv.stop());

  it('stores a PNG and answers {upload_id, upload_url, expires_at} with a working signed URL', async () => {
    const png = await quadrants();
    const res = await upload(srv.baseUrl, key, png);
    assert.equal(res.status, 200, res.text);
    const b = res.body;
    assert.match(b.upload_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(b.upload_url, /^https?:\/\//);
    assert.ok(b.upload_url.includes(`${b.upload_id}.png`), 'stored under the upload id with the decoded extension');
    assert.ok(b.upload_url.includes('uploads/'), b.upload_url);
    const ttl = Date.parse(b.expires_at) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, `about one hour (${ttl} ms)`);
    assert.deepEqual([b.content_type, b.width, b.height, b.size_bytes], ['image/png', 200, 100, png.length]);
    const dl = await download(b.upload_url);
    assert.equal(dl.status, 200);
    assert.ok(dl.bytes.equals(png), 'the stored file is the uploaded file, byte for byte');
  });

  it('accepts JPEG and WebP, deciding the type from the content, not the name or Content-Type', async () => {
    const jpeg = await quadrants('jpeg');
    const r1 = await upload(srv.baseUrl, key, jpeg, { filename: 'photo.png', type: 'image/png' });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(r1.body.content_type, 'image/jpeg');
    assert.ok(r1.body.upload_url.includes(`${r1.body.upload_id}.jpg`));
    const webp = await circleOnPlain('webp');
    const r2 = await upload(srv.baseUrl, key, webp, { filename: 'x.bin', type: 'application/octet-stream' });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(r2.body.content_type, 'image/webp');
    assert.equal((await sharp((await download(r2.body.upload_url)).bytes).metadata()).format, 'webp');
  });

  it('refuses a text file named .png with Content-Type image/png: 415, error bad_request', async () => {
    const res = await upload(srv.baseUrl, key, Buffer.from('this is not an image, whatever its name says\n'), { filename: 'evil.png', type: 'image/png' });
    assert.equal(res.status, 415, res.text);
    assert.equal(res.body.error, 'bad_request');
    assert.match(res.body.message, /PNG, JPEG or WebP/);
    assert.equal(res.body.details.fields[0].path, 'image');
    assert.ok(res.body.request_id);
  });

  it('refuses other image formats (GIF, SVG) and damaged files with 415', async () => {
    const gif = await sharp(await quadrants()).gif().toBuffer();
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>');
    const png = await quadrants();
    const truncated = png.subarray(0, Math.floor(png.length / 2));
    for (const [name, bytes] of [['gif', gif], ['svg', svg], ['truncated png', truncated]] as const) {
      const res = await upload(srv.baseUrl, key, bytes, { filename: 'a.png' });
      assert.equal(res.status, 415, `${name}: ${res.text}`);
      assert.equal(res.body.error, 'bad_request', name);
    }
  });

  it('answers 400 for a missing file, a wrong field, extra parts and non-multipart bodies', async () => {
    const png = await quadrants();
    const wrongField = await upload(srv.baseUrl, key, png, { field: 'file' });
    assert.equal(wrongField.status, 400, wrongField.text);
    assert.equal(wrongField.body.details.fields[0].path, 'file');
    const extra = await upload(srv.baseUrl, key, png, { extra: { purpose: 'x' } });
    assert.equal(extra.status, 400, extra.text);
    assert.equal(extra.body.details.fields[0].path, 'purpose');
    const none = await fetch(`${srv.baseUrl}/v1/upload`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: new FormData() });
    assert.equal(none.status, 400);
    const json = await api(srv.baseUrl, 'POST', '/v1/upload', { key, body: { image: 'aGVsbG8=' } });
    assert.equal(json.status, 400);
    assert.match(json.body.message, /multipart\/form-data/);
    const raw = await api(srv.baseUrl, 'POST', '/v1/upload', { key, rawBody: png, headers: { 'content-type': 'image/png' } });
    assert.equal(raw.status, 400);
    assert.equal(raw.body.error, 'bad_request');
    const broken = await api(srv.baseUrl, 'POST', '/v1/upload', { key, rawBody: 'garbage', headers: { 'content-type': 'multipart/form-data; boundary=xyz' } });
    assert.equal(broken.status, 400, broken.text);
    const noKey = await upload(srv.baseUrl, 'esl_wrong', png);
    assert.equal(noKey.status, 401);
  });

  it('refuses an image whose embedded text fails moderation: 451 content_rejected, nothing stored', async () => {
    const jobsBefore = (await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total;
    for (const caption of ['terrorist propaganda recruitment poster', 'a gory massacre']) {
      const res = await upload(srv.baseUrl, key, await withCaption(await quadrants(), caption));
      assert.equal(res.status, 451, res.text);
      assert.equal(res.body.error, 'content_rejected');
      assert.equal(res.body.details.field, 'image');
      assert.ok(res.body.details.category);
    }
    // A harmless caption passes: the check reads what the image says, it does not refuse captions.
    const ok = await upload(srv.baseUrl, key, await withCaption(await quadrants(), 'four coloured squares'));
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await api(srv.baseUrl, 'GET', '/v1/jobs', { key })).body.total, jobsBefore, 'uploads are not jobs');
  });

  it('is free: the balance and held amount do not move', async () => {
    const before_ = await profile(srv.baseUrl, key);
    assert.equal((await upload(srv.baseUrl, key, await quadrants())).status, 200);
    const after_ = await profile(srv.baseUrl, key);
    assert.deepEqual([after_.balance_eur, after_.held_eur], [before_.balance_eur, before_.held_eur]);
  });

  it('an upload_url works as an input image URL; an altered one is refused', async () => {
    const up = (await upload(srv.baseUrl, key, await quadrants())).body;
    const res = await api(srv.baseUrl, 'POST', '/v1/process/crop', { key, body: { input_image_url: up.upload_url, x: 100, y: 0, width: 100, height: 50 } });
    assert.equal(res.status, 200, res.text);
    const out = (await download(res.body.image_url)).bytes;
    assert.deepEqual([(await sharp(out).metadata()).width, (await sharp(out).metadata()).height], [100, 50]);
    assert.ok(near(await pixel(out, 50, 25), [0, 255, 0, 255]), 'the top-right (green) quadrant');

    // The same signature on another upload's key: refused whatever the storage (HMAC or SigV4).
    const other = (await upload(srv.baseUrl, key, await circleOnPlain())).body;
    const forged = up.upload_url.replace(up.upload_id, other.upload_id);
    const refused = await api(srv.baseUrl, 'POST', '/v1/process/crop', { key, body: { input_image_url: forged, x: 0, y: 0, width: 10, height: 10 } });
    assert.equal(refused.status, 422, refused.text);
    assert.equal(refused.body.error, 'validation_failed');
    assert.match(refused.body.message, /not valid/);
  });

  it('plain http is refused for URLs that are not ours (outside loopback test mode)', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/process/flip', { key, body: { input_image_url: 'http://images.example.com/a.png', direction: 'vertical' } });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.details.fields[0].path, 'input_image_url');
  });
});

describe(`POST /v1/upload size limit (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  const LIMIT = 8192;

  before(async () => {
    srv = await EaselProcess.start({ env: { EASEL_MAX_UPLOAD_BYTES: String(LIMIT) } });
    key = await srv.createKey('small-uploads', '1');
  });
  after(() => srv.stop());

  it('413 payload_too_large when the file passes EASEL_MAX_UPLOAD_BYTES, announced or streamed', async () => {
    // Within the envelope allowance: the request is read, and the file stream is cut at the limit.
    const streamed = await noise(64, 64);
    assert.ok(streamed.length > LIMIT && streamed.length < LIMIT + 60_000, `${streamed.length} bytes`);
    const r1 = await upload(srv.baseUrl, key, streamed);
    assert.equal(r1.status, 413, r1.text);
    assert.equal(r1.body.error, 'payload_too_large');
    assert.equal(r1.body.details.limit_bytes, LIMIT);
    // Far over: refused from Content-Length before any body byte is read.
    const big = await noise(400, 400);
    const r2 = await upload(srv.baseUrl, key, big);
    assert.equal(r2.status, 413, r2.text);
    assert.equal(r2.body.error, 'payload_too_large');
    // Under the limit still works.
    const small = await quadrants();
    assert.ok(small.length < LIMIT);
    assert.equal((await upload(srv.baseUrl, key, small)).status, 200);
  });
});
