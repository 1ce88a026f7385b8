import sharp from 'sharp';
import { MAX_PIXELS, MAX_SIDE } from '../../imaging/limits.js';
import type { ProcessFn } from './types.js';
import { invalid } from './failures.js';

interface CropParams { x: number; y: number; width: number; height: number }
interface ResizeParams { width?: number | null; height?: number | null; fit?: 'fill' | 'cover' | 'inside' }
interface RotateParams { angle: number; expand?: boolean | null; fill_color?: string | null }

/** The rectangle can only be checked against the image once it is fetched; the failing field is named. */
export const crop: ProcessFn = (ctx) => {
  const { x, y, width, height } = ctx.params as unknown as CropParams;
  const { width: W, height: H } = ctx.input;
  const size = `${W} × ${H} px`;
  if (x >= W) throw invalid('x', `is ${x}, outside the image (${size}).`);
  if (y >= H) throw invalid('y', `is ${y}, outside the image (${size}).`);
  if (x + width > W) throw invalid('width', `the crop rectangle ends at x = ${x + width}, beyond the image width (${size}).`);
  if (y + height > H) throw invalid('height', `the crop rectangle ends at y = ${y + height}, beyond the image height (${size}).`);
  return ctx.encode(ctx.pixels().extract({ left: x, top: y, width, height }), ctx.sameFormat);
};

/** One side given: the other follows the aspect ratio. Both given: `fit` decides (default: exactly that size). */
export const resize: ProcessFn = (ctx) => {
  const p = ctx.params as ResizeParams;
  const { width: W, height: H } = ctx.input;
  const given = p.width != null ? 'width' : 'height';
  const w = p.width ?? Math.max(1, Math.round((W * p.height!) / H));
  const h = p.height ?? Math.max(1, Math.round((H * p.width!) / W));
  if (w > MAX_SIDE || h > MAX_SIDE || w * h > MAX_PIXELS) {
    throw invalid(given, `the result would be ${w} × ${h} px; at most ${MAX_SIDE} px a side and ${MAX_PIXELS / 1e6} megapixels.`);
  }
  const fit = p.width != null && p.height != null ? (p.fit ?? 'fill') : 'fill';
  return ctx.encode(ctx.pixels().resize(w, h, { fit }), ctx.sameFormat);
};

/** "#RGB", "#RRGGBB" or "#RRGGBBAA" (the schema has checked the form). */
export function parseHex(hex: string): { r: number; g: number; b: number; alpha: number } {
  let h = hex.slice(1);
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const n = (i: number) => parseInt(h.slice(i, i + 2), 16);
  return { r: n(0), g: n(2), b: n(4), alpha: h.length === 8 ? n(6) / 255 : 1 };
}

/**
 * Positive angles turn counter-clockwise (the contract); libvips turns clockwise, hence the sign.
 * expand=false keeps the original canvas: the rotated picture is centred on it, cut where it
 * overhangs and filled where it falls short.
 */
export const rotate: ProcessFn = async (ctx) => {
  const p = ctx.params as unknown as RotateParams;
  const fill = parseHex(p.fill_color ?? '#FFFFFF');
  const expand = p.expand ?? true;
  const { width: W, height: H } = ctx.input;
  const rad = (p.angle * Math.PI) / 180;
  const bw = Math.ceil(Math.abs(W * Math.cos(rad)) + Math.abs(H * Math.sin(rad)));
  const bh = Math.ceil(Math.abs(W * Math.sin(rad)) + Math.abs(H * Math.cos(rad)));
  if (expand && bw * bh > MAX_PIXELS) throw invalid('expand', `the rotated canvas would be ${bw} × ${bh} px, over ${MAX_PIXELS / 1e6} megapixels; use expand false.`);
  let img = ctx.pixels();
  if (fill.alpha < 1) img = img.ensureAlpha();
  const turned = await img.rotate(-p.angle, { background: fill }).raw().toBuffer({ resolveWithObject: true });
  const raw = { width: turned.info.width, height: turned.info.height, channels: turned.info.channels };
  let out = sharp(turned.data, { raw });
  if (!expand && (raw.width !== W || raw.height !== H)) {
    const cw = Math.min(raw.width, W);
    const ch = Math.min(raw.height, H);
    const cut = await out
      .extract({ left: (raw.width - cw) >> 1, top: (raw.height - ch) >> 1, width: cw, height: ch })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const left = (W - cw) >> 1;
    const top = (H - ch) >> 1;
    out = sharp(cut.data, { raw: { width: cw, height: ch, channels: raw.channels } }).extend({ left, right: W - cw - left, top, bottom: H - ch - top, background: fill });
  }
  return ctx.encode(out, ctx.sameFormat);
};

interface FlipParams { direction: 'horizontal' | 'vertical' }

/** horizontal mirrors left↔right (libvips "flop"); vertical mirrors top↔bottom ("flip"). */
export const flip: ProcessFn = (ctx) => {
  const { direction } = ctx.params as unknown as FlipParams;
  const img = direction === 'horizontal' ? ctx.pixels().flop() : ctx.pixels().flip();
  return ctx.encode(img, ctx.sameFormat);
};

/** Removes borders within `tolerance` of the top-left pixel's colour; a uniform image is left as it is. */
export const trim: ProcessFn = (ctx) => {
  const tolerance = (ctx.params as { tolerance?: number | null }).tolerance ?? 10;
  return ctx.encode(ctx.pixels().trim({ threshold: tolerance }), ctx.sameFormat);
};
