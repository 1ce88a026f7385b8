import sharp from 'sharp';
import { MAX_PIXELS } from '../../imaging/limits.js';
import type { Encoded, OutFormat, ProcessFn } from './types.js';
import { invalid } from './failures.js';

const QUALITY_DEFAULT: Record<Exclude<OutFormat, 'png'>, number> = { jpeg: 90, webp: 90, avif: 60 };

/** Re-encodes in another format; transparency becomes white in JPEG. */
export const convert: ProcessFn = (ctx) => {
  const p = ctx.params as { format: OutFormat; quality?: number | null };
  const options = p.format === 'png' ? {} : { quality: p.quality ?? QUALITY_DEFAULT[p.format] };
  return ctx.encode(ctx.pixels(), p.format, options);
};

/**
 * Removes EXIF, XMP and IPTC; keeps the colour profile unless keep_icc is false, and always keeps
 * provenance (re-written as its own XMP packet). Starts from the original file rather than the
 * decoded sRGB pixels, so the kept profile still describes the pixels. Lossy formats are
 * re-encoded at quality 95: libvips cannot drop metadata without re-encoding.
 */
export const metadataStrip: ProcessFn = (ctx) => {
  const keepIcc = (ctx.params as { keep_icc?: boolean | null }).keep_icc ?? true;
  const img = sharp(ctx.inputBytes, { failOn: 'error', limitInputPixels: MAX_PIXELS }).autoOrient();
  const options = ctx.sameFormat === 'png' ? {} : { quality: 95 };
  return ctx.encode(img, ctx.sameFormat, options, { keepIcc });
};

/** Per format: the encoder options of one lossy quality step (PNG: palette quantisation). */
function lossy(format: OutFormat, q: number): Record<string, unknown> {
  if (format === 'png') return { palette: true, quality: q, effort: 7, compressionLevel: 9 };
  if (format === 'jpeg') return { quality: q, mozjpeg: true };
  if (format === 'webp') return { quality: q, effort: 5 };
  return { quality: q, effort: 4 };
}

const LOSSLESS: Partial<Record<OutFormat, Record<string, unknown>>> = {
  png: { compressionLevel: 9, adaptiveFiltering: true },
  webp: { lossless: true, effort: 6 },
  avif: { lossless: true, effort: 4 },
};

/**
 * Keeps the input's format. lossless: the same pixels at the strongest compression (JPEG cannot
 * be re-encoded without loss, so it is refused). lossy: quality 75 (PNG: a quantised palette),
 * or with target_bytes the highest quality whose file fits, found by binary search over 1–100;
 * when even quality 1 does not fit, that smallest file is returned (size_bytes tells).
 */
export const optimize: ProcessFn = async (ctx) => {
  const p = ctx.params as { mode?: 'lossy' | 'lossless'; target_bytes?: number | null };
  const format = ctx.sameFormat;
  if ((p.mode ?? 'lossy') === 'lossless') {
    const options = LOSSLESS[format];
    if (!options) throw invalid('mode', 'a JPEG cannot be re-encoded without loss; use mode lossy, or convert to png or webp first.');
    return ctx.encode(ctx.pixels(), format, options);
  }
  const at = (q: number) => ctx.encode(ctx.pixels(), format, lossy(format, q));
  if (p.target_bytes == null) return at(75);
  let lo = 1;
  let hi = 100;
  let best: Encoded | null = null;
  let smallest: Encoded | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = await at(mid);
    if (!smallest || r.bytes.length < smallest.bytes.length) smallest = r;
    if (r.bytes.length <= p.target_bytes) {
      best = r;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return best ?? smallest!;
};
