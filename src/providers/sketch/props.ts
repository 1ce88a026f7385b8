import { hex, muted, type Rgb } from './palette.js';
import { int, range, type Rng } from './prng.js';
import type { Prop, Theme } from './theme.js';

/** Small SVG helpers for scenery. Every fill comes from muted(), so all of it is decoration-safe. */

const f1 = (n: number) => n.toFixed(1);

export function cloud(rng: Rng, x: number, y: number, s: number, light: number): string {
  const fill = hex(muted(range(rng, 0, 360), 0.1, Math.min(0.97, light + 0.12)));
  const puffs = int(rng, 3, 5);
  let out = `<g fill="${fill}" opacity="0.9">`;
  for (let i = 0; i < puffs; i++) {
    out += `<ellipse cx="${f1(x + (i - puffs / 2) * s * 0.6)}" cy="${f1(y + range(rng, -0.2, 0.2) * s)}" rx="${f1(s * range(rng, 0.5, 0.8))}" ry="${f1(s * range(rng, 0.35, 0.55))}"/>`;
  }
  return `${out}</g>`;
}

/** A jagged band across the full width, like a distant ridge. */
export function ridge(rng: Rng, w: number, baseY: number, amp: number, fill: Rgb, bottom: number): string {
  const peaks = int(rng, 3, 8);
  const pts: string[] = [`0,${f1(bottom)}`, `0,${f1(baseY - range(rng, 0, amp))}`];
  for (let i = 1; i <= peaks; i++) {
    const x = (w * (i - range(rng, 0.2, 0.8))) / peaks;
    pts.push(`${f1(x)},${f1(baseY - range(rng, 0.3, 1) * amp)}`);
  }
  pts.push(`${f1(w)},${f1(baseY - range(rng, 0, amp))}`, `${f1(w)},${f1(bottom)}`);
  return `<polygon points="${pts.join(' ')}" fill="${hex(fill)}"/>`;
}

/** One prop standing with its base at (x, y), s pixels tall. */
export function prop(kind: Prop, rng: Rng, t: Theme, x: number, y: number, s: number): string {
  const hue = (h: number) => (h + range(rng, -15, 15) + 360) % 360;
  switch (kind) {
    case 'tree': {
      const trunk = hex(muted(hue(30), 0.25, 0.45));
      const crown = hex(muted(hue(t.name === 'snow' ? 200 : 110), 0.3, range(rng, 0.45, 0.6)));
      return `<rect x="${f1(x - s * 0.06)}" y="${f1(y - s * 0.45)}" width="${f1(s * 0.12)}" height="${f1(s * 0.45)}" fill="${trunk}"/>` +
        `<circle cx="${f1(x)}" cy="${f1(y - s * 0.65)}" r="${f1(s * 0.33)}" fill="${crown}"/>`;
    }
    case 'pine': {
      const fill = hex(muted(hue(t.name === 'snow' ? 190 : 140), 0.25, range(rng, 0.42, 0.55)));
      return `<polygon points="${f1(x)},${f1(y - s)} ${f1(x + s * 0.3)},${f1(y)} ${f1(x - s * 0.3)},${f1(y)}" fill="${fill}"/>`;
    }
    case 'house': {
      const wall = hex(muted(hue(range(rng, 0, 360)), 0.2, range(rng, 0.6, 0.8)));
      const roof = hex(muted(hue(range(rng, 0, 360)), 0.3, 0.5));
      const win = hex(muted(50, 0.5, t.stars ? 0.85 : 0.7));
      const w = s * 0.8;
      return `<rect x="${f1(x - w / 2)}" y="${f1(y - s * 0.6)}" width="${f1(w)}" height="${f1(s * 0.6)}" fill="${wall}"/>` +
        `<polygon points="${f1(x - w * 0.6)},${f1(y - s * 0.6)} ${f1(x)},${f1(y - s)} ${f1(x + w * 0.6)},${f1(y - s * 0.6)}" fill="${roof}"/>` +
        `<rect x="${f1(x - w * 0.3)}" y="${f1(y - s * 0.45)}" width="${f1(w * 0.2)}" height="${f1(w * 0.2)}" fill="${win}"/>`;
    }
    case 'rock':
      return `<ellipse cx="${f1(x)}" cy="${f1(y - s * 0.15)}" rx="${f1(s * 0.4)}" ry="${f1(s * 0.22)}" fill="${hex(muted(hue(40), 0.08, range(rng, 0.5, 0.7)))}"/>`;
    case 'flower':
      return `<circle cx="${f1(x)}" cy="${f1(y - s * 0.1)}" r="${f1(s * 0.1)}" fill="${hex(muted(range(rng, 0, 360), 0.5, 0.8))}"/>`;
    case 'cactus': {
      const fill = hex(muted(hue(120), 0.25, 0.5));
      return `<rect x="${f1(x - s * 0.08)}" y="${f1(y - s)}" width="${f1(s * 0.16)}" height="${f1(s)}" rx="${f1(s * 0.08)}" fill="${fill}"/>` +
        `<rect x="${f1(x - s * 0.3)}" y="${f1(y - s * 0.7)}" width="${f1(s * 0.1)}" height="${f1(s * 0.35)}" rx="${f1(s * 0.05)}" fill="${fill}"/>`;
    }
  }
}
