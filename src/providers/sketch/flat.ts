import { range, type Rng } from './prng.js';

/**
 * Shared bits of the flat (graphic and diagram) styles: a small palette from one hue, and
 * number formatting. Colours here are plain HSL; they never meet figure signature colours
 * because graphics and diagrams draw no figures.
 */
export const f1 = (n: number): string => n.toFixed(1);

export function hsl(h: number, s: number, l: number): string {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return `#${[f(0), f(8), f(4)].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

export interface FlatPalette {
  primary: string;
  secondary: string;
  dark: string;
  light: string;
}

/** Four colours around one hue: what "a small palette of solid colours" means here. */
export function flatPalette(rng: Rng): FlatPalette {
  const h = range(rng, 0, 360);
  const h2 = (h + (rng() < 0.5 ? range(rng, 140, 220) : range(rng, 25, 50))) % 360;
  return {
    primary: hsl(h, range(rng, 0.55, 0.75), range(rng, 0.42, 0.52)),
    secondary: hsl(h2, range(rng, 0.6, 0.8), range(rng, 0.55, 0.65)),
    dark: hsl(h, 0.35, 0.2),
    light: hsl(h, 0.3, 0.95),
  };
}
