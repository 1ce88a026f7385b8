import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import sharp from 'sharp';
import { EaselProcess, MODE, api, download } from '../helpers/server.js';
import { circleOnPlain, framed, near, noise, photoLike, pixel, quadrants, serveImages, withCaption } from '../helpers/images.js';
import { assertProcessShape } from '../helpers/process-shapes.js';

const RED = [255, 0, 0, 255];
const GREEN = [0, 255, 0, 255];
const BLUE = [0, 0, 255, 255];
const WHITE = [255, 255, 255, 255];

describe(`POST /v1/process/* operations (${MODE})`, () => {
  let srv: EaselProcess;
  let key: string;
  let host: Awaited<ReturnType<typeof serveImages>>;
  const files: Record<string, Buffer> = {};

  before(async () => {
    Object.assign(files, {
      'quad.png': await quadrants(),
      'quad.jpg': await quadrants('jpeg'),
      'circle.png': await circleOnPlain(),
      'circle.webp': await circleOnPlain('webp'),
      'circle.jpg': await circleOnPlain('jpeg'),
      'framed.png': await framed(),
      'noise.png': await noise(160, 120),
      'photo.png': await photoLike(),
      'photo.jpg': await sharp(await photoLike()).jpeg({ quality: 95 }).toBuffer(),
      'black.png': await sharp({ create: { width: 20, height: 20, channels: 3, background: '#000000' } }).png().toBuffer(),
      'clear.png': await sharp({ create: { width: 30, height: 20, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer(),
    });
    files['bad-overlay.png'] = await withCaption(files['black.png']!, 'terrorist propaganda recruitment');
    host = await serveImages(files);
    srv = await EaselProcess.start({ env: { EASEL_ALLOW_LOOPBACK_URLS: 'true' } });
    key = await srv.createKey('processor', '5');
  });
  after(async () => {
    await srv.stop();
    await host.close();
  });

  const call = (op: string, body: Record<string, unknown>) => api(srv.baseUrl, 'POST', `/v1/process/${op}`, { key, body });

  /** Runs an op that must succeed; checks the contract shape and that the file is what it says. */
  async function ok(op: string, body: Record<string, unknown>) {
    const res = await call(op, body);
    assert.equal(res.status, 200, `${op}: ${res.text}`);
    assertProcessShape(res.body);
    assert.equal(res.body.operation, op);
    assert.equal(res.headers.get('x-easel-job-id'), res.body.job_id);
    const ttl = Date.parse(res.body.expires_at) - Date.now();
    assert.ok(ttl > 3500_000 && ttl <= 3600_000, 'the URL lasts about an hour');
    const dl = await download(res.body.image_url);
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), res.body.content_type);
    assert.equal(dl.bytes.length, res.body.size_bytes);
    assert.equal(crypto.createHash('sha256').update(dl.bytes).digest('hex'), res.body.hash);
    const meta = await sharp(dl.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [res.body.width, res.body.height]);
    return { body: res.body, bytes: dl.bytes, meta };
  }

  /** Runs an op that must be refused with `status`, naming `field`. */
  async function refused(op: string, body: Record<string, unknown>, status: number, field?: string) {
    const res = await call(op, body);
    assert.equal(res.status, status, `${op} ${JSON.stringify(body)}: ${res.text}`);
    assert.equal(res.body.error, status === 422 ? 'validation_failed' : status === 403 ? 'content_rejected' : 'bad_request');
    if (field) assert.ok(res.body.details.fields.some((f: { path: string }) => f.path === field), `names ${field}: ${res.text}`);
    return res.body;
  }

  const input = (name: string) => ({ input_image_url: host.url(name) });

  it('crop picks the requested region', async () => {
    const { bytes, meta, body } = await ok('crop', { ...input('quad.png'), x: 100, y: 50, width: 100, height: 50 });
    assert.deepEqual([meta.width, meta.height, meta.format, body.content_type], [100, 50, 'png', 'image/png']);
    assert.ok(near(await pixel(bytes, 10, 10), [255, 255, 0, 255]), 'bottom-right quadrant is yellow');
    const off = await ok('crop', { ...input('quad.png'), x: 90, y: 40, width: 20, height: 20 });
    assert.ok(near(await pixel(off.bytes, 2, 2), RED) && near(await pixel(off.bytes, 17, 17), [255, 255, 0, 255]));
  });

  it('crop: a rectangle outside the image is 422 naming the field; bad values 422/400', async () => {
    const failed = await refused('crop', { ...input('quad.png'), x: 150, y: 0, width: 100, height: 10 }, 422, 'width');
    assert.match(failed.message, /width/);
    assert.ok(failed.details.job_id, 'the rectangle is checked once the image is fetched, in the job');
    await refused('crop', { ...input('quad.png'), x: 250, y: 0, width: 10, height: 10 }, 422, 'x');
    await refused('crop', { ...input('quad.png'), x: 0, y: 95, width: 10, height: 10 }, 422, 'height');
    await refused('crop', { ...input('quad.png'), x: -1, y: 0, width: 10, height: 10 }, 422, 'x');
    await refused('crop', { ...input('quad.png'), x: 0, y: 0, width: 0, height: 10 }, 422, 'width');
    await refused('crop', { ...input('quad.png'), x: 0, y: 0, width: '10', height: 10 }, 400, 'width');
    await refused('crop', { ...input('quad.png'), x: 0, y: 0, width: 10 }, 400, 'height');
    await refused('crop', { ...input('quad.png'), x: 0, y: 0, width: 10, height: 10, z: 1 }, 400, 'z');
    await refused('crop', { x: 0, y: 0, width: 10, height: 10 }, 400, 'input_image_url');
    await refused('crop', { input_image_url: 'ftp://example.com/a.png', x: 0, y: 0, width: 10, height: 10 }, 400, 'input_image_url');
  });

  it('an input URL that cannot be fetched or is not an image is 422 naming input_image_url', async () => {
    await refused('flip', { input_image_url: host.url('missing.png'), direction: 'vertical' }, 422, 'input_image_url');
    files['text.png'] = Buffer.from('not an image');
    await refused('flip', { input_image_url: host.url('text.png'), direction: 'vertical' }, 422, 'input_image_url');
  });

  it('resize: one side keeps the ratio, both sides fill (or fit inside)', async () => {
    const w = await ok('resize', { ...input('quad.png'), width: 100 });
    assert.deepEqual([w.meta.width, w.meta.height], [100, 50]);
    const h = await ok('resize', { ...input('quad.png'), height: 25, width: null });
    assert.deepEqual([h.meta.width, h.meta.height], [50, 25]);
    const both = await ok('resize', { ...input('quad.png'), width: 40, height: 40 });
    assert.deepEqual([both.meta.width, both.meta.height], [40, 40]);
    const inside = await ok('resize', { ...input('quad.png'), width: 40, height: 40, fit: 'inside' });
    assert.deepEqual([inside.meta.width, inside.meta.height], [40, 20]);
    assert.ok(near(await pixel(w.bytes, 75, 10), GREEN, 20), 'content scaled, not cropped');
  });

  it('resize: neither side is 422 naming both; out of range 422; wrong type 400', async () => {
    await refused('resize', input('quad.png'), 422, 'width');
    const both = await refused('resize', { ...input('quad.png'), width: null, height: null }, 422, 'height');
    assert.equal(both.details.fields.length, 2);
    await refused('resize', { ...input('quad.png'), width: 20_000 }, 422, 'width');
    await refused('resize', { ...input('quad.png'), width: 1.5 }, 400, 'width');
    await refused('resize', { ...input('quad.png'), width: 10, fit: 'stretch' }, 400, 'fit');
  });

  it('rotate: positive is counter-clockwise, 90° swaps the sides; expand and fill_color work', async () => {
    const ccw = await ok('rotate', { ...input('quad.png'), angle: 90 });
    assert.deepEqual([ccw.meta.width, ccw.meta.height], [100, 200]);
    assert.ok(near(await pixel(ccw.bytes, 10, 10), GREEN), 'the top-right corner turns to the top-left');
    const cw = await ok('rotate', { ...input('quad.png'), angle: -90 });
    assert.ok(near(await pixel(cw.bytes, 10, 10), BLUE), 'clockwise: the bottom-left turns to the top-left');
    const diag = await ok('rotate', { ...input('quad.png'), angle: 45 });
    assert.ok(diag.meta.width! >= 212 && diag.meta.width! <= 214, `expanded to fit (${diag.meta.width})`);
    assert.ok(near(await pixel(diag.bytes, 1, 1), WHITE), 'corners take the default fill, white');
    const kept = await ok('rotate', { ...input('quad.png'), angle: 30, expand: false, fill_color: '#000000' });
    assert.deepEqual([kept.meta.width, kept.meta.height], [200, 100]);
    assert.ok(near(await pixel(kept.bytes, 0, 0), [0, 0, 0, 255]), 'cut corners take fill_color');
    const clear = await ok('rotate', { ...input('quad.png'), angle: 45, fill_color: '#00000000' });
    assert.equal((await pixel(clear.bytes, 1, 1))[3], 0, 'a transparent fill');
  });

  it('rotate: angle out of range 422, malformed fill_color 400', async () => {
    await refused('rotate', { ...input('quad.png'), angle: 400 }, 422, 'angle');
    await refused('rotate', { ...input('quad.png'), angle: 10, fill_color: 'red' }, 400, 'fill_color');
    await refused('rotate', input('quad.png'), 400, 'angle');
  });

  it('flip mirrors horizontally and vertically', async () => {
    const h = await ok('flip', { ...input('quad.png'), direction: 'horizontal' });
    assert.ok(near(await pixel(h.bytes, 10, 10), GREEN) && near(await pixel(h.bytes, 190, 10), RED));
    const v = await ok('flip', { ...input('quad.png'), direction: 'vertical' });
    assert.ok(near(await pixel(v.bytes, 10, 10), BLUE) && near(await pixel(v.bytes, 10, 90), RED));
    await refused('flip', { ...input('quad.png'), direction: 'diagonal' }, 400, 'direction');
  });

  it('trim removes uniform borders', async () => {
    const t = await ok('trim', input('framed.png'));
    assert.deepEqual([t.meta.width, t.meta.height], [30, 40]);
    assert.ok(near(await pixel(t.bytes, 0, 0), RED));
    const loose = await ok('trim', { ...input('framed.png'), tolerance: 0 });
    assert.deepEqual([loose.meta.width, loose.meta.height], [30, 40]);
    await refused('trim', { ...input('framed.png'), tolerance: 256 }, 422, 'tolerance');
  });

  it('adjust changes brightness, contrast and saturation', async () => {
    const dark = await ok('adjust', { ...input('quad.png'), brightness: -1 });
    assert.ok(near(await pixel(dark.bytes, 10, 10), [0, 0, 0, 255], 8), 'brightness −1 is black');
    const grey = await ok('adjust', { ...input('quad.png'), saturation: -1 });
    const [r, g, b] = await pixel(grey.bytes, 10, 10);
    assert.ok(Math.abs(r - g) <= 3 && Math.abs(g - b) <= 3, `saturation −1 is grey (${r},${g},${b})`);
    const flat = await ok('adjust', { ...input('quad.png'), contrast: -1 });
    assert.ok(near(await pixel(flat.bytes, 10, 10), [128, 128, 128, 255], 3) && near(await pixel(flat.bytes, 150, 75), [128, 128, 128, 255], 3), 'contrast −1 is flat grey');
    const brighter = await ok('adjust', { ...input('photo.png'), brightness: 0.5, contrast: null });
    const mean = async (buf: Buffer) => (await sharp(buf).stats()).channels.slice(0, 3).reduce((a, c) => a + c.mean, 0) / 3;
    assert.ok((await mean(brighter.bytes)) > (await mean(files['photo.png']!)) + 10);
  });

  it('adjust: none given is 422 naming all three; out of range 422', async () => {
    const none = await refused('adjust', input('quad.png'), 422, 'brightness');
    assert.deepEqual(none.details.fields.map((f: { path: string }) => f.path), ['brightness', 'contrast', 'saturation']);
    await refused('adjust', { ...input('quad.png'), brightness: null, contrast: null }, 422, 'saturation');
    await refused('adjust', { ...input('quad.png'), contrast: 1.5 }, 422, 'contrast');
  });

  it('overlay places an image at x, y with opacity, clipped at the edges', async () => {
    const o = await ok('overlay', { ...input('quad.png'), overlay_image_url: host.url('black.png'), x: 10, y: 10 });
    assert.deepEqual([o.meta.width, o.meta.height], [200, 100]);
    assert.ok(near(await pixel(o.bytes, 15, 15), [0, 0, 0, 255]) && near(await pixel(o.bytes, 5, 5), RED));
    const half = await ok('overlay', { ...input('quad.png'), overlay_image_url: host.url('black.png'), x: 10, y: 10, opacity: 0.5 });
    assert.ok(near(await pixel(half.bytes, 15, 15), [128, 0, 0, 255], 6), 'half-transparent black over red');
    const edge = await ok('overlay', { ...input('quad.png'), overlay_image_url: host.url('black.png'), x: 190, y: -10 });
    assert.ok(near(await pixel(edge.bytes, 195, 5), [0, 0, 0, 255]) && near(await pixel(edge.bytes, 185, 5), GREEN));
  });

  it('overlay: entirely outside 422, moderated overlay 403, missing fields 400', async () => {
    await refused('overlay', { ...input('quad.png'), overlay_image_url: host.url('black.png'), x: 500, y: 0 }, 422, 'x');
    const rejected = await refused('overlay', { ...input('quad.png'), overlay_image_url: host.url('bad-overlay.png'), x: 0, y: 0 }, 403);
    assert.match(rejected.message, /overlay_image_url/);
    await refused('overlay', { ...input('quad.png'), x: 0, y: 0 }, 400, 'overlay_image_url');
    await refused('overlay', { ...input('quad.png'), overlay_image_url: host.url('black.png'), x: 0, y: 0, opacity: 2 }, 422, 'opacity');
  });

  it('metadata-strip removes EXIF and XMP, keeps the ICC profile unless keep_icc is false', async () => {
    const tagged = await sharp(files['quad.jpg']!)
      .withIccProfile('p3')
      .withExif({ IFD0: { ImageDescription: 'holiday', Artist: 'someone' } })
      .withXmp('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" dc:source="camera"/></rdf:RDF></x:xmpmeta>')
      .jpeg()
      .toBuffer();
    const m0 = await sharp(tagged).metadata();
    assert.ok(m0.exif && m0.xmp && m0.icc, 'the input carries all three');
    files['tagged.jpg'] = tagged;
    const kept = await ok('metadata-strip', input('tagged.jpg'));
    assert.equal(kept.meta.format, 'jpeg');
    assert.equal(kept.meta.exif, undefined);
    assert.equal(kept.meta.xmp, undefined, 'no provenance on the input, so no XMP at all');
    assert.ok(kept.meta.icc, 'keep_icc defaults to true');
    const bare = await ok('metadata-strip', { ...input('tagged.jpg'), keep_icc: false });
    assert.equal(bare.meta.icc, undefined);
    await refused('metadata-strip', { ...input('tagged.jpg'), keep_icc: 'no' }, 400, 'keep_icc');
  });

  it('convert writes png, jpeg, webp and avif; transparency becomes white in jpeg', async () => {
    for (const [format, mime, decoded] of [['webp', 'image/webp', 'webp'], ['jpeg', 'image/jpeg', 'jpeg'], ['avif', 'image/avif', 'heif'], ['png', 'image/png', 'png']] as const) {
      const c = await ok('convert', { ...input('quad.jpg'), format, ...(format === 'png' ? {} : { quality: 80 }) });
      assert.equal(c.body.content_type, mime);
      assert.equal(c.meta.format, decoded);
      assert.ok(near(await pixel(c.bytes, 150, 25), GREEN, 24), `${format} keeps the picture`);
    }
    const flat = await ok('convert', { ...input('clear.png'), format: 'jpeg' });
    assert.ok(near(await pixel(flat.bytes, 5, 5), WHITE, 3));
    await refused('convert', { ...input('quad.png'), format: 'png', quality: 50 }, 422, 'quality');
    await refused('convert', { ...input('quad.png'), format: 'gif' }, 400, 'format');
    await refused('convert', { ...input('quad.png'), format: 'webp', quality: 0 }, 422, 'quality');
  });

  it('optimize: lossy shrinks, target_bytes is honoured, lossless keeps every pixel', async () => {
    const png = files['photo.png']!;
    const lossy = await ok('optimize', input('photo.png'));
    assert.equal(lossy.meta.format, 'png');
    assert.ok(lossy.bytes.length < png.length * 0.8, `lossy png ${lossy.bytes.length} < ${png.length}`);
    const exact = await ok('optimize', { ...input('photo.png'), mode: 'lossless' });
    const raw = async (b: Buffer) => sharp(b).removeAlpha().raw().toBuffer();
    assert.ok((await raw(exact.bytes)).equals(await raw(png)), 'lossless: identical pixels');
    const target = 12_000;
    const fit = await ok('optimize', { ...input('photo.jpg'), target_bytes: target });
    assert.equal(fit.meta.format, 'jpeg');
    assert.ok(fit.bytes.length <= target, `${fit.bytes.length} ≤ ${target}`);
    const roomy = await ok('optimize', { ...input('photo.jpg'), target_bytes: 40_000 });
    assert.ok(roomy.bytes.length > fit.bytes.length && roomy.bytes.length <= 40_000, 'more room, higher quality');
  });

  it('optimize: lossless JPEG 422 (mode), target_bytes with lossless 422, bad mode 400', async () => {
    await refused('optimize', { ...input('photo.jpg'), mode: 'lossless' }, 422, 'mode');
    await refused('optimize', { ...input('photo.png'), mode: 'lossless', target_bytes: 1000 }, 422, 'target_bytes');
    await refused('optimize', { ...input('photo.png'), mode: 'smaller' }, 400, 'mode');
  });

  it('remove-background makes a plain background transparent and keeps the subject', async () => {
    const png = await ok('remove-background', input('circle.png'));
    assert.equal(png.body.content_type, 'image/png');
    assert.equal(png.meta.hasAlpha, true);
    for (const [x, y] of [[2, 2], [237, 2], [2, 237], [237, 237], [30, 120]] as const) assert.equal((await pixel(png.bytes, x, y))[3], 0, `background at ${x},${y}`);
    assert.ok(near(await pixel(png.bytes, 120, 120), [192, 57, 43, 255], 4), 'the subject stays opaque and unchanged');
    assert.equal((await pixel(png.bytes, 120, 60))[3], 255, 'inside the circle near its edge');
    const webp = await ok('remove-background', input('circle.webp'));
    assert.equal(webp.meta.format, 'webp');
    assert.equal((await pixel(webp.bytes, 2, 2))[3], 0);
    assert.ok((await pixel(webp.bytes, 120, 120))[3] > 250);
    const jpeg = await ok('remove-background', input('circle.jpg'));
    assert.equal(jpeg.meta.format, 'png', 'JPEG has no alpha: the result is PNG');
    assert.equal((await pixel(jpeg.bytes, 2, 2))[3], 0);
  });

  it('remove-background: a busy background is 422, tolerance out of range 422', async () => {
    const busy = await refused('remove-background', input('noise.png'), 422, 'input_image_url');
    assert.match(busy.message, /plain background/);
    await refused('remove-background', { ...input('circle.png'), tolerance: 0 }, 422, 'tolerance');
  });
});
