import type { ProcessFn } from './types.js';

interface AdjustParams { brightness?: number | null; contrast?: number | null; saturation?: number | null }

/**
 * Each level runs −1…1 with 0 = unchanged, on the colour channels only (never alpha).
 * Brightness blends towards black (−1) or white (+1); contrast scales around mid-grey (−1: flat
 * grey, +1: twice the contrast); both fold into one linear map. Saturation is libvips' LCh
 * chroma multiplier (−1: greyscale, +1: twice as colourful).
 */
export const adjust: ProcessFn = (ctx) => {
  const p = ctx.params as AdjustParams;
  const b = p.brightness ?? 0;
  const c = p.contrast ?? 0;
  const s = p.saturation ?? 0;
  let img = ctx.pixels();
  if (s !== 0) img = img.modulate({ saturation: 1 + s });
  if (b !== 0 || c !== 0) {
    // brightness: v → a1·v + o1; contrast: v → a2·v + o2 around 128; composed: a2·(a1·v + o1) + o2.
    const a1 = b < 0 ? 1 + b : 1 - b;
    const o1 = b > 0 ? 255 * b : 0;
    const a2 = 1 + c;
    const o2 = 128 * (1 - a2);
    const a = a2 * a1;
    const o = a2 * o1 + o2;
    const alpha = ctx.input.channels === 4;
    img = img.linear(alpha ? [a, a, a, 1] : [a, a, a], alpha ? [o, o, o, 0] : [o, o, o]);
  }
  return ctx.encode(img, ctx.sameFormat);
};
