import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { NotSegmentable, segmentBackground } from '../../src/imaging/segment-background.js';

/** Renders an SVG to the raw RGBA the segmenter reads. */
async function raw(svg: string): Promise<{ px: Buffer; w: number; h: number }> {
  const { data, info } = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { px: data, w: info.width, h: info.height };
}
const svg = (body: string, w = 120, h = 90) => `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${body}</svg>`;
const at = (mask: Uint8Array, w: number, x: number, y: number) => mask[y * w + x];

describe('segmentBackground (classical, border-learnt)', () => {
  it('separates a subject from a flat background', async () => {
    const { px, w, h } = await raw(svg('<rect width="120" height="90" fill="#f4f4f4"/><rect x="40" y="30" width="40" height="30" fill="#2255aa"/>'));
    const m = segmentBackground(px, w, h, 4);
    assert.equal(at(m, w, 0, 0), 0);
    assert.equal(at(m, w, 119, 89), 0);
    assert.equal(at(m, w, 60, 45), 255);
    assert.equal(at(m, w, 41, 31), 255, 'the subject keeps its edge');
  });

  it('handles a two-colour background and a soft gradient', async () => {
    const two = await raw(svg('<rect width="60" height="90" fill="#dddddd"/><rect x="60" width="60" height="90" fill="#99aacc"/><circle cx="60" cy="45" r="20" fill="#cc2200"/>'));
    const m2 = segmentBackground(two.px, two.w, two.h, 4);
    assert.deepEqual([at(m2, two.w, 5, 5), at(m2, two.w, 115, 85), at(m2, two.w, 60, 45)], [0, 0, 255]);
    const grad = await raw(
      svg('<defs><linearGradient id="g" x2="0" y2="1"><stop offset="0" stop-color="#eef3ff"/><stop offset="1" stop-color="#b8c4dd"/></linearGradient></defs><rect width="120" height="90" fill="url(#g)"/><circle cx="60" cy="45" r="20" fill="#203020"/>'),
    );
    const mg = segmentBackground(grad.px, grad.w, grad.h, 4);
    assert.deepEqual([at(mg, grad.w, 2, 2), at(mg, grad.w, 2, 87), at(mg, grad.w, 60, 45)], [0, 0, 255]);
  });

  it('treats an already transparent border as background', async () => {
    const { px, w, h } = await raw(svg('<rect x="30" y="20" width="60" height="50" fill="#ffffff"/>'));
    const m = segmentBackground(px, w, h, 4);
    assert.deepEqual([at(m, w, 2, 2), at(m, w, 60, 45)], [0, 255], 'a white subject on transparency stays');
  });

  it('keeps background seen through a hole (a documented limit: only border-connected background goes)', async () => {
    const { px, w, h } = await raw(svg('<rect width="120" height="90" fill="#ffffff"/><circle cx="60" cy="45" r="35" fill="none" stroke="#000" stroke-width="12"/>'));
    const m = segmentBackground(px, w, h, 4);
    assert.deepEqual([at(m, w, 2, 2), at(m, w, 60, 45)], [0, 255]);
  });

  it('refuses a busy border instead of guessing', async () => {
    const w = 80;
    const h = 60;
    const px = Buffer.alloc(w * h * 4);
    for (let i = 0; i < px.length; i++) px[i] = (i * 2654435761) >>> 24;
    for (let i = 3; i < px.length; i += 4) px[i] = 255;
    assert.throws(() => segmentBackground(px, w, h, 4), NotSegmentable);
  });
});
