import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { EaselProcess, MODE, S3_CREDS, S3_ENDPOINT, api, download } from '../helpers/server.js';

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

describe('POST /v1/generate/image', () => {
  let srv: EaselProcess;
  let key: string;

  before(async () => {
    srv = await EaselProcess.start();
    key = await srv.createKey('gen-main', '10');
  });
  after(() => srv.stop());

  it('returns the contract shape with decodable png, jpeg and webp whose hashes match', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a red fox in a snowy forest', aspect_ratio: '16:9' } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const b = res.body;
    assert.equal(res.headers.get('x-easel-job-id'), b.id);
    assert.equal(res.headers.get('x-depicta-job-id'), b.id);
    assert.match(b.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(b.ai_generated, true);
    assert.equal(b.cost_eur, '0.020000');
    assert.equal(b.balance_eur, '9.980000');
    assert.deepEqual(Object.keys(b.formats).sort(), ['jpeg', 'png', 'webp']);
    for (const fmt of ['png', 'jpeg', 'webp'] as const) {
      const f = b.formats[fmt];
      assert.equal(f.format, fmt);
      assert.ok(Date.parse(f.expires_at) > Date.now() + 3500_000, 'URLs last about an hour');
      const dl = await download(f.url);
      assert.equal(dl.status, 200);
      assert.equal(dl.headers.get('content-type'), fmt === 'jpeg' ? 'image/jpeg' : `image/${fmt}`);
      assert.equal(dl.bytes.length, f.size_bytes);
      assert.equal(sha256(dl.bytes), f.hash);
      const meta = await sharp(dl.bytes).metadata();
      assert.equal(meta.format, fmt);
      assert.equal(meta.width, 1024);
      assert.equal(meta.height, 576);
    }
    assert.equal(b.image_hash, b.formats.png.hash);
  });

  it('honours aspect ratio and size', async () => {
    for (const [ratio, size, w, h] of [
      ['9:16', '1K', 576, 1024],
      ['1:1', '2K', 2048, 2048],
      ['21:9', '1K', 1024, 440],
    ] as const) {
      const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: `a castle ${ratio}`, aspect_ratio: ratio, image_size: size } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const meta = await sharp((await download(res.body.formats.png.url)).bytes).metadata();
      assert.deepEqual([meta.width, meta.height], [w, h], `${ratio} ${size}`);
    }
  });

  it('is deterministic for the same prompt and seed and visibly different for different prompts', async () => {
    const gen = async (prompt: string, seed?: number) =>
      (await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt, ...(seed !== undefined ? { seed } : {}) } })).body;
    const a1 = await gen('a lighthouse on a cliff', 7);
    const a2 = await gen('a lighthouse on a cliff', 7);
    const c = await gen('a bowl of ripe lemons', 7);
    assert.notEqual(a1.id, a2.id, 'each request is its own job');
    // Files differ by their provenance timestamp; the pictures themselves are identical.
    const pixels = async (u: string) => sharp((await download(u)).bytes).raw().toBuffer();
    assert.ok((await pixels(a1.formats.png.url)).equals(await pixels(a2.formats.png.url)), 'same prompt and seed, same pixels');
    const seeded = await gen('a lighthouse on a cliff', 8);
    assert.ok(!(await pixels(a1.formats.png.url)).equals(await pixels(seeded.formats.png.url)), 'another seed, another picture');
    const px = async (u: string) => sharp((await download(u)).bytes).resize(64, 64).raw().toBuffer();
    const [pa, pc] = await Promise.all([px(a1.formats.png.url), px(c.formats.png.url)]);
    let diff = 0;
    for (let i = 0; i < pa.length; i++) diff += Math.abs(pa[i]! - pc[i]!);
    assert.ok(diff / pa.length > 10, `mean pixel difference ${diff / pa.length}`);
  });

  it('carries AI-generation provenance (IPTC trainedAlgorithmicMedia) in the files', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a paper boat' } });
    for (const fmt of ['png', 'jpeg', 'webp']) {
      const meta = await sharp((await download(res.body.formats[fmt].url)).bytes).metadata();
      assert.ok(meta.xmp, `${fmt} has XMP`);
      assert.match(meta.xmp!.toString('utf8'), /trainedAlgorithmicMedia/);
    }
  });

  it('the completed job answers GET /v1/jobs/{id} with the same result and freshly signed URLs', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a windmill' } });
    await new Promise((r) => setTimeout(r, 1100));
    const job = await api(srv.baseUrl, 'GET', `/v1/jobs/${res.body.id}`, { key });
    assert.equal(job.status, 200);
    assert.equal(job.body.status, 'completed');
    assert.equal(job.body.result.id, res.body.id);
    assert.equal(job.body.result.image_hash, res.body.image_hash);
    assert.equal(job.body.result.cost_eur, res.body.cost_eur);
    assert.notEqual(job.body.result.formats.png.url, res.body.formats.png.url, 'a later read signs a later expiry');
    assert.equal((await download(job.body.result.formats.png.url)).status, 200);
  });

  it('signed URLs: tampered or expired → 403; Range and ETag work', async () => {
    const res = await api(srv.baseUrl, 'POST', '/v1/generate/image', { key, body: { prompt: 'a teapot' } });
    const url = new URL(res.body.formats.png.url);
    // Embedded mode signs with exp/sig; scale-out hands out S3 presigned URLs (X-Amz-*), checked by the S3 server.
    const sigParam = MODE === 'scaleout' ? 'X-Amz-Signature' : 'sig';
    const expParam = MODE === 'scaleout' ? 'X-Amz-Expires' : 'exp';
    const sig = url.searchParams.get(sigParam)!;
    assert.ok(sig, `the URL is signed (${sigParam})`);
    const tamperedSig = new URL(url);
    tamperedSig.searchParams.set(sigParam, (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    const tamperedExp = new URL(url);
    tamperedExp.searchParams.set(expParam, String(Number(url.searchParams.get(expParam)) + 3600));
    const otherFile = new URL(url.toString().replace('image.png', 'image.webp'));
    const noSig = new URL(url);
    noSig.searchParams.delete(sigParam);
    for (const u of [tamperedSig, tamperedExp, otherFile, noSig]) {
      const r = await api(u.origin, 'GET', u.pathname + u.search);
      assert.equal(r.status, 403, u.toString());
      if (MODE === 'embedded') {
        assert.equal(r.body.error, 'forbidden');
        assert.ok(r.body.request_id);
      }
    }
    if (MODE === 'embedded') {
      // An expired URL correctly signed with the server's own secret is still refused.
      const secret = Buffer.from(JSON.parse(fs.readFileSync(path.join(srv.dataDir, 'secrets.json'), 'utf8')).url_signing_key, 'base64');
      const key_ = url.pathname.replace(/^\/files\//, '');
      const past = Math.floor(Date.now() / 1000) - 10;
      const expiredSig = crypto.createHmac('sha256', secret).update(`${key_}\n${past}`).digest('base64url');
      const expired = await api(url.origin, 'GET', `${url.pathname}?exp=${past}&sig=${expiredSig}`);
      assert.equal(expired.status, 403);
      assert.match(expired.body.message, /expired/);
      const traversal = await api(url.origin, 'GET', `/files/jobs/..%2F..%2Fsecrets.json?exp=${past}&sig=x`);
      assert.ok([403, 404].includes(traversal.status));
      assert.ok(!traversal.text.includes('url_signing_key'));
    } else {
      // A correctly presigned URL replayed after its expiry is refused by the S3 server.
      const s3 = new S3Client({ region: 'us-east-1', endpoint: S3_ENDPOINT, forcePathStyle: true, credentials: S3_CREDS });
      const [, bucket, ...rest] = url.pathname.split('/');
      const short = await getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: rest.join('/') }), { expiresIn: 1 });
      assert.equal((await download(short)).status, 200);
      await new Promise((r) => setTimeout(r, 2100));
      assert.equal((await download(short)).status, 403);
    }

    const full = await fetch(url);
    const etag = full.headers.get('etag');
    const total = Number(full.headers.get('content-length'));
    assert.ok(etag);
    assert.equal(full.headers.get('content-type'), 'image/png');
    const ranged = await fetch(url, { headers: { range: 'bytes=0-99' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 0-99/${total}`);
    assert.equal((await ranged.arrayBuffer()).byteLength, 100);
    if (MODE === 'embedded') assert.match(full.headers.get('cache-control')!, /^private, max-age=\d+/);
    // node:http, not fetch: the Fetch standard adds "Cache-Control: no-cache" to conditional requests.
    const condStatus = await new Promise<number>((resolve, reject) =>
      http.get(url, { headers: { 'if-none-match': etag! } }, (r) => (r.resume(), resolve(r.statusCode!))).on('error', reject),
    );
    assert.equal(condStatus, 304);
  });
});
