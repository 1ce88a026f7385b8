import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { renderSketch, type SketchFigure, type SketchRenderInput } from '../../src/providers/sketch/render.js';
import { figureSignature, type FigureSignature } from '../../src/providers/sketch/signature.js';
import { hasFigure, signatureCoverage } from '../../src/providers/sketch/detect.js';
import { SIGNATURE_PALETTE, distance } from '../../src/providers/sketch/palette.js';

const fig = (key: string): SketchFigure => ({ key, appearance: `${key}, as described` });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CAST = ['mira', 'tomas', 'old-ben', 'mira#wet'].map(fig);

async function rgb(png: Buffer) {
  return sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
}

async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [x, y] = await Promise.all([rgb(a), rgb(b)]);
  assert.equal(x.data.length, y.data.length);
  let sum = 0;
  for (let i = 0; i < x.data.length; i++) sum += Math.abs((x.data[i] as number) - (y.data[i] as number));
  return sum / x.data.length;
}

const sameColours = (a: FigureSignature, b: FigureSignature) => JSON.stringify(a.colors) === JSON.stringify(b.colors);

describe('renderSketch: output image', () => {
  for (const [width, height] of [[1024, 1024], [1024, 576], [576, 1024], [2048, 878], [64, 64], [4096, 100]] as const) {
    it(`is a PNG of exactly ${width}x${height}`, async () => {
      const png = await renderSketch({ prompt: 'a lighthouse on a cliff', seed: 7, width, height, figures: CAST });
      const meta = await sharp(png).metadata();
      assert.equal(meta.format, 'png');
      assert.equal(meta.width, width);
      assert.equal(meta.height, height);
      assert.ok(meta.channels === 3 || meta.channels === 4);
    });
  }

  it('is byte-identical for the same prompt, seed, size and figures', async () => {
    const input: SketchRenderInput = { prompt: 'two friends at a cafe', seed: 42, width: 768, height: 512, figures: CAST.slice(0, 2) };
    const [a, b] = await Promise.all([renderSketch(input), renderSketch({ ...input, figures: [...CAST.slice(0, 2)] })]);
    assert.equal(sha(a), sha(b));
  });

  it('changes with the seed and with the figures', async () => {
    const base: SketchRenderInput = { prompt: 'two friends at a cafe', seed: 42, width: 512, height: 512, figures: CAST.slice(0, 2) };
    const ref = sha(await renderSketch(base));
    assert.notEqual(sha(await renderSketch({ ...base, seed: 43 })), ref);
    assert.notEqual(sha(await renderSketch({ ...base, figures: CAST.slice(0, 3) })), ref);
  });

  it('looks substantially different for different prompts', async () => {
    const prompts = ['a red fox in the snow', 'a lighthouse on a cliff', 'a dragon over the city', 'quiet morning', 'a boat at sea', 'a boat at sea!'];
    const pngs = await Promise.all(prompts.map((prompt) => renderSketch({ prompt, seed: 1, width: 512, height: 512 })));
    for (let i = 0; i < pngs.length; i++) {
      for (let j = i + 1; j < pngs.length; j++) {
        const mad = await meanAbsDiff(pngs[i]!, pngs[j]!);
        // Measured minimum is ~15 (the near-identical pair "a boat at sea" / "...!").
        assert.ok(mad > 8, `"${prompts[i]}" vs "${prompts[j]}": mean abs diff ${mad.toFixed(1)}`);
      }
    }
  });

  it('renders 1024x1024 quickly (timing reported, not asserted)', async (t) => {
    await renderSketch({ prompt: 'warm-up', seed: 0, width: 256, height: 256 });
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await renderSketch({ prompt: `timing ${i}`, seed: i, width: 1024, height: 1024, figures: CAST });
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    t.diagnostic(`renderSketch 1024x1024 with 4 figures: median ${times[2]!.toFixed(1)} ms (min ${times[0]!.toFixed(1)}, max ${times[4]!.toFixed(1)})`);
  });

  it('rejects out-of-range input', async () => {
    const ok: SketchRenderInput = { prompt: 'x', seed: 1, width: 256, height: 256 };
    await assert.rejects(renderSketch({ ...ok, width: 63 }), RangeError);
    await assert.rejects(renderSketch({ ...ok, height: 4097 }), RangeError);
    await assert.rejects(renderSketch({ ...ok, width: 100.5 }), RangeError);
    await assert.rejects(renderSketch({ ...ok, seed: 1.5 }), RangeError);
    await assert.rejects(renderSketch({ ...ok, figures: Array.from({ length: 11 }, (_, i) => fig(`c${i}`)) }), RangeError);
  });
});

describe('figure signatures', () => {
  it('depend only on the key, and 10 keys give 10 different signatures', () => {
    const keys = ['mira', 'tomas', 'old-ben', 'ada', 'rex', 'mira#wet', 'mira#angry', 'tomas#asleep', 'narrator', 'the-cat'];
    const sigs = keys.map((k) => figureSignature(k));
    assert.deepEqual(figureSignature('mira'), sigs[0]);
    for (const s of sigs) {
      assert.equal(s.colors.length, 3);
      assert.equal(new Set(s.colors.map((c) => c.join())).size, 3, 'colours within a signature are distinct');
    }
    for (let i = 0; i < sigs.length; i++) {
      for (let j = i + 1; j < sigs.length; j++) {
        assert.ok(!sameColours(sigs[i]!, sigs[j]!), `${keys[i]} and ${keys[j]} share a signature`);
      }
    }
  });

  it('use palette colours far apart from each other', () => {
    let min = Infinity;
    for (let i = 0; i < SIGNATURE_PALETTE.length; i++) {
      for (let j = i + 1; j < SIGNATURE_PALETTE.length; j++) min = Math.min(min, distance(SIGNATURE_PALETTE[i]!, SIGNATURE_PALETTE[j]!));
    }
    assert.ok(min > 50, `closest palette pair is ${min.toFixed(1)} apart`);
  });

  it('never appear in the background: no scenery pixel is within 60 of any palette colour', async () => {
    const prompts = ['a boat at sea', 'a dark forest at night', 'a city street', 'desert dunes', 'snow', 'a meadow', 'zzz'];
    for (const prompt of prompts) {
      const { data, info } = await rgb(await renderSketch({ prompt, seed: 5, width: 384, height: 256 }));
      let nearest = Infinity;
      for (let p = 0; p < data.length; p += info.channels) {
        const px: [number, number, number] = [data[p]!, data[p + 1]!, data[p + 2]!];
        for (const c of SIGNATURE_PALETTE) nearest = Math.min(nearest, distance(px, c));
      }
      assert.ok(nearest >= 60, `"${prompt}": a background pixel is ${nearest.toFixed(1)} from a signature colour`);
    }
  });
});

describe('figures in pixels', () => {
  for (const [width, height] of [[1024, 1024], [1024, 576], [576, 1024], [2048, 878]] as const) {
    it(`each of 4 figures is found in a ${width}x${height} scene, each region >= 2% of the image (hair >= 1%)`, async () => {
      const png = await renderSketch({ prompt: 'the market at noon', seed: 3, width, height, figures: CAST });
      for (const f of CAST) {
        const sig = figureSignature(f.key);
        assert.equal(await hasFigure(png, sig), true, `${f.key} not found`);
        const cov = await signatureCoverage(png, sig);
        // Hair frames the face, so it covers about half of what the head block used to: >= 1%.
        cov.forEach((c, k) => assert.ok(c >= (k === 0 ? 0.01 : 0.02), `${f.key}: coverage ${cov.map((x) => x.toFixed(4)).join('/')}`));
      }
    });
  }

  it('draws figures as flat, non-antialiased blocks of the exact signature colours', async () => {
    const png = await renderSketch({ prompt: 'the market at noon', seed: 3, width: 1000, height: 700, figures: CAST });
    for (const f of CAST) {
      const sig = figureSignature(f.key);
      const [exact, loose] = await Promise.all([signatureCoverage(png, sig, 0), signatureCoverage(png, sig)]);
      exact.forEach((e, k) => assert.equal(e, loose[k], `${f.key} colour ${k}: fringe pixels near but not at the colour`));
    }
  });

  it('finds each figure in its own portrait, filling much of the frame', async () => {
    for (const f of CAST) {
      const png = await renderSketch({ prompt: `portrait of ${f.key}`, seed: 1, width: 768, height: 1024, figures: [f], portrait: true });
      const sig = figureSignature(f.key);
      assert.equal(await hasFigure(png, sig), true);
      const cov = await signatureCoverage(png, sig);
      assert.ok(cov.reduce((a, b) => a + b) > 0.3, `portrait covers only ${cov.join('/')}`);
      for (const other of CAST.filter((o) => o.key !== f.key)) {
        assert.equal(await hasFigure(png, figureSignature(other.key)), false, `${other.key} found in ${f.key}'s portrait`);
      }
    }
  });

  it('finds all 10 figures in a crowded scene', async () => {
    const crowd = Array.from({ length: 10 }, (_, i) => fig(`crowd-${i}`));
    const png = await renderSketch({ prompt: 'a crowded square', seed: 9, width: 1024, height: 768, figures: crowd });
    for (const f of crowd) assert.equal(await hasFigure(png, figureSignature(f.key)), true, `${f.key} not found`);
  });

  it('does not find a figure that was not drawn, even when its colours all appear on other figures', async () => {
    const png = await renderSketch({ prompt: 'the market at noon', seed: 3, width: 1024, height: 768, figures: CAST });
    assert.equal(await hasFigure(png, figureSignature('nobody')), false);
    assert.equal(await hasFigure(png, figureSignature('mira#dry')), false);

    // Hunt for a key whose three colours are all worn by the cast: colour coverage alone
    // would report it present; hasFigure must not.
    const worn = new Set(CAST.flatMap((f) => figureSignature(f.key).colors.map((c) => c.join())));
    const castSigs = CAST.map((f) => figureSignature(f.key));
    let impostor: string | null = null;
    for (let i = 0; i < 100_000 && impostor === null; i++) {
      const sig = figureSignature(`impostor-${i}`);
      if (sig.colors.every((c) => worn.has(c.join())) && !castSigs.some((s) => sameColours(s, sig))) impostor = `impostor-${i}`;
    }
    assert.ok(impostor, 'no impostor key found');
    const sig = figureSignature(impostor);
    const cov = await signatureCoverage(png, sig);
    assert.ok(cov.every((c) => c >= 0.002), 'the impostor colours are all present in the image');
    assert.equal(await hasFigure(png, sig), false);
  });

  it('keeps figures identical across scenes: the same key gives the same colours in two different prompts', async () => {
    const [a, b] = await Promise.all([
      renderSketch({ prompt: 'scene one: the quay', seed: 1, width: 640, height: 480, figures: [fig('mira'), fig('tomas')] }),
      renderSketch({ prompt: 'scene two: the forest', seed: 2, width: 640, height: 480, figures: [fig('tomas'), fig('ada')] }),
    ]);
    assert.equal(await hasFigure(a, figureSignature('tomas')), true);
    assert.equal(await hasFigure(b, figureSignature('tomas')), true);
    assert.equal(await hasFigure(b, figureSignature('mira')), false);
    assert.equal(await hasFigure(a, figureSignature('ada')), false);
  });
});
