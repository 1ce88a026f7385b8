import sharp from 'sharp';
import { NotSegmentable, segmentBackground } from '../../imaging/segment-background.js';
import type { ProcessFn } from './types.js';
import { invalid } from './failures.js';

/** The mask is computed at most at this size (4 MP) and scaled up: the method needs no finer detail. */
const WORK_PIXELS = 4_000_000;
/** Gaussian feather of the mask edge, in output pixels. */
const FEATHER_SIGMA = 0.6;

/**
 * Classical segmentation (see imaging/segment-background.ts for the method and its limits):
 * the mask is computed on a working copy, scaled to the image, feathered, and multiplied into the
 * image's own alpha. Output is PNG (WebP when the input was WebP), both with alpha.
 */
export const removeBackground: ProcessFn = async (ctx) => {
  const tolerance = (ctx.params as { tolerance?: number | null }).tolerance ?? undefined;
  const { data, width, height, channels } = ctx.input;
  const scale = Math.min(1, Math.sqrt(WORK_PIXELS / (width * height)));
  const ww = Math.max(1, Math.round(width * scale));
  const wh = Math.max(1, Math.round(height * scale));
  const work = scale < 1 ? await ctx.pixels().resize(ww, wh, { fit: 'fill', kernel: 'linear' }).raw().toBuffer() : data;
  let mask: Uint8Array;
  try {
    mask = segmentBackground(work, ww, wh, channels, tolerance === undefined ? {} : { tolerance });
  } catch (e) {
    if (!(e instanceof NotSegmentable)) throw e;
    throw invalid('input_image_url', 'the image border is not a plain background; remove-background handles uniform or simple backgrounds only.');
  }
  let m = sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.length), { raw: { width: ww, height: wh, channels: 1 } });
  if (ww !== width || wh !== height) m = m.resize(width, height, { fit: 'fill', kernel: 'linear' });
  // extractChannel: libvips would otherwise hand the one-band mask back as three sRGB bands.
  const alpha = await m.blur(FEATHER_SIGMA).extractChannel(0).raw().toBuffer();
  const n = width * height;
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const s = i * channels;
    out[i * 4] = data[s]!;
    out[i * 4 + 1] = data[s + 1]!;
    out[i * 4 + 2] = data[s + 2]!;
    out[i * 4 + 3] = channels === 4 ? Math.round((data[s + 3]! * alpha[i]!) / 255) : alpha[i]!;
  }
  const format = ctx.input.format === 'webp' ? 'webp' : 'png';
  return ctx.encode(sharp(out, { raw: { width, height, channels: 4 } }), format, format === 'webp' ? { quality: 90, alphaQuality: 100 } : undefined);
};
