import type { AspectRatio, ImageSize } from '../contract/dimensions.js';

const LONG_SIDE: Record<ImageSize, number> = { '1K': 1024, '2K': 2048, '4K': 4096 };

/** Pixel size for a ratio and a named size: the long side is the size, the short side follows, rounded to 8 px. */
export function dimensionsFor(aspect: AspectRatio, size: ImageSize): { width: number; height: number } {
  const [a, b] = aspect.split(':').map(Number) as [number, number];
  const long = LONG_SIDE[size];
  const short = Math.max(8, Math.round((long * Math.min(a, b)) / Math.max(a, b) / 8) * 8);
  return a >= b ? { width: long, height: short } : { width: short, height: long };
}
