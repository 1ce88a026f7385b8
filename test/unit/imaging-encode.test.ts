import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { encodeAll, type EncodedImage, type OutputFormat, type ProvenanceInfo } from '../../src/imaging/encode.js';
import { sha256Hex } from '../../src/imaging/hash.js';
import { readDigitalSourceType } from '../../src/imaging/provenance.js';
import { renderSketch } from '../../src/providers/sketch/render.js';
import { figureSignature } from '../../src/providers/sketch/signature.js';
import { hasFigure } from '../../src/providers/sketch/detect.js';

const AI = 'http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia';
const PROV: ProvenanceInfo = { generator: 'Easel', model: 'easel-sketch', action: 'created', createdAt: new Date('2025-03-04T05:06:07.000Z') };
const CAST = ['mira', 'tomas', 'old-ben'];
const FORMATS: OutputFormat[] = ['png', 'jpeg', 'webp'];

let source: Buffer;
let encoded: Record<OutputFormat, EncodedImage>;

before(async () => {
  source = await renderSketch({ prompt: 'a boat at sea', seed: 11, width: 1024, height: 576, figures: CAST.map((key) => ({ key, appearance: key })) });
  encoded = await encodeAll(source, PROV);
});

describe('sha256Hex', () => {
  it('is lowercase hex SHA-256', () => {
    assert.equal(sha256Hex(Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(sha256Hex(new Uint8Array([97, 98, 99])), sha256Hex(Buffer.from('abc')));
  });
});

describe('encodeAll', () => {
  it('produces png, jpeg and webp that decode with the original dimensions', async () => {
    assert.deepEqual(Object.keys(encoded).sort(), ['jpeg', 'png', 'webp']);
    for (const f of FORMATS) {
      const e = encoded[f];
      const meta = await sharp(e.bytes).metadata();
      assert.equal(e.format, f);
      assert.equal(meta.format, f);
      assert.equal(e.mime, `image/${f}`);
      assert.equal(meta.width, 1024);
      assert.equal(meta.height, 576);
      assert.equal(e.width, 1024);
      assert.equal(e.height, 576);
    }
  });

  it('reports the sha256 of the exact output bytes', () => {
    for (const f of FORMATS) {
      assert.equal(encoded[f].sha256, createHash('sha256').update(encoded[f].bytes).digest('hex'));
      assert.match(encoded[f].sha256, /^[0-9a-f]{64}$/);
    }
  });

  it('keeps PNG lossless', async () => {
    const [a, b] = await Promise.all(
      [source, encoded.png.bytes].map((x) => sharp(x).removeAlpha().raw().toBuffer()),
    );
    assert.ok(a!.equals(b!));
  });

  it('marks every format as AI-generated (IPTC DigitalSourceType) in XMP', async () => {
    for (const f of FORMATS) assert.equal(await readDigitalSourceType(encoded[f].bytes), AI, f);
    assert.equal(await readDigitalSourceType(source), null, 'the raw render carries no provenance');
  });

  it('records generator, model, action and creation time', async () => {
    const edited = await encodeAll(source, { ...PROV, action: 'edited' }, ['webp']);
    for (const [bytes, action] of [[encoded.jpeg.bytes, 'created'], [edited.webp.bytes, 'edited']] as const) {
      const xmp = (await sharp(bytes).metadata()).xmp?.toString('utf8') ?? '';
      assert.match(xmp, /xmp:CreatorTool="Easel"/);
      assert.match(xmp, /xmp:CreateDate="2025-03-04T05:06:07.000Z"/);
      assert.match(xmp, /Iptc4xmpExt:AISystemUsed="easel-sketch"/);
      assert.match(xmp, new RegExp(`<stEvt:action>${action}</stEvt:action>`));
      assert.match(xmp, /<dc:description>/);
    }
  });

  it('escapes XML special characters in inserted strings', async () => {
    const nasty = { ...PROV, generator: 'Ease<l> & "co" \'x\'', model: 'm</rdf:li><evil/>' };
    const out = await encodeAll(source, nasty, ['png']);
    const xmp = (await sharp(out.png.bytes).metadata()).xmp?.toString('utf8') ?? '';
    assert.ok(!xmp.includes('<evil/>') && !xmp.includes('Ease<l>'));
    assert.ok(xmp.includes('Ease&lt;l&gt; &amp; &quot;co&quot; &apos;x&apos;'));
    assert.equal(await readDigitalSourceType(out.png.bytes), AI);
  });

  it('keeps figure signatures through lossy JPEG and WebP', async () => {
    for (const f of ['jpeg', 'webp'] as const) {
      for (const key of CAST) assert.equal(await hasFigure(encoded[f].bytes, figureSignature(key)), true, `${key} lost in ${f}`);
      assert.equal(await hasFigure(encoded[f].bytes, figureSignature('nobody')), false);
    }
  });

  it('accepts JPEG and WebP input, and honours a format subset', async () => {
    for (const input of [encoded.jpeg.bytes, encoded.webp.bytes]) {
      const out = await encodeAll(input, PROV, ['png', 'jpeg']);
      assert.deepEqual(Object.keys(out).sort(), ['jpeg', 'png']);
      assert.equal((await sharp(out.png.bytes).metadata()).width, 1024);
      assert.equal(await readDigitalSourceType(out.jpeg.bytes), AI);
    }
  });

  it('flattens transparency for JPEG but keeps it in PNG and WebP', async () => {
    const rgba = await sharp({ create: { width: 80, height: 60, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } }).png().toBuffer();
    const out = await encodeAll(rgba, PROV);
    assert.equal((await sharp(out.png.bytes).metadata()).hasAlpha, true);
    assert.equal((await sharp(out.webp.bytes).metadata()).hasAlpha, true);
    const jpeg = await sharp(out.jpeg.bytes).metadata();
    assert.equal(jpeg.hasAlpha, false);
    assert.equal(jpeg.width, 80);
    assert.equal(jpeg.height, 60);
  });

  it('rejects an invalid creation date and an unknown format', async () => {
    await assert.rejects(encodeAll(source, { ...PROV, createdAt: new Date('nope') }), RangeError);
    await assert.rejects(encodeAll(source, PROV, ['gif' as OutputFormat]), RangeError);
  });

  it('encodes 1024x1024 to all three formats quickly (timing reported, not asserted)', async (t) => {
    const square = await renderSketch({ prompt: 'timing', seed: 1, width: 1024, height: 1024, figures: [{ key: 'mira', appearance: '' }] });
    await encodeAll(square, PROV);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await encodeAll(square, PROV);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`encodeAll 1024x1024 -> png+jpeg+webp: median ${times[2]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[4]!.toFixed(1)})`);
  });
});
