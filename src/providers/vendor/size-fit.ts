/* Fitting a requested width × height to what a vendor takes: a ratio from its list, or clamped dimensions. */
import { aspectDistance } from './prompt.js';

/** The ratio from `choices` ("W:H") closest to width/height, compared on a log scale. */
export function nearestAspectRatio(width: number, height: number, choices: readonly string[]): string {
  let best = choices[0] ?? '1:1';
  let bestDist = Infinity;
  for (const c of choices) {
    const [w, h] = c.split(':').map(Number);
    if (!w || !h) continue;
    const d = aspectDistance(width, height, w, h);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

/**
 * width × height scaled (keeping the ratio) into [minSide, maxSide] and rounded to `step`, for
 * vendors that take explicit dimensions with such limits.
 */
export function fitDimensions(width: number, height: number, limits: { step: number; minSide: number; maxSide: number }): { width: number; height: number } {
  let scale = 1;
  if (Math.max(width, height) * scale > limits.maxSide) scale = limits.maxSide / Math.max(width, height);
  if (Math.min(width, height) * scale < limits.minSide) scale = limits.minSide / Math.min(width, height);
  const snap = (v: number) => Math.min(limits.maxSide, Math.max(limits.minSide, Math.round((v * scale) / limits.step) * limits.step));
  return { width: snap(width), height: snap(height) };
}
