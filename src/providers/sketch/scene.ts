import { hex, muted, type Rgb } from './palette.js';
import { int, pick, range, type Rng } from './prng.js';
import { cloud, prop, ridge } from './props.js';
import type { Theme } from './theme.js';

const f1 = (n: number) => n.toFixed(1);

export interface Scenery {
  svg: string;
  /** For figure shadows, so they sit on whatever ground was drawn. */
  shadow: Rgb;
}

/**
 * Everything behind the figures: sky, sun or moon, clouds, ridges, ground and props. The
 * prompt hash drives every choice (counts, positions, hues, horizon), so two prompts differ
 * across the whole frame, not just in a corner. Coordinates scale with the frame so any
 * aspect ratio composes sensibly.
 */
export function scenerySvg(rng: Rng, t: Theme, width: number, height: number): Scenery {
  const s = Math.min(width, height);
  const horizon = height * range(rng, 0.42, 0.68);
  const skyTop = muted(t.skyHue, range(rng, 0.25, 0.5), t.skyLight - 0.08);
  const skyLow = muted((t.skyHue + range(rng, -30, 30) + 360) % 360, range(rng, 0.15, 0.4), Math.min(0.93, t.skyLight + 0.1));
  const groundNear = muted(t.groundHue, range(rng, 0.2, 0.45), range(rng, 0.5, 0.65));
  const groundFar = muted(t.groundHue, range(rng, 0.15, 0.35), range(rng, 0.62, 0.75));
  const parts: string[] = [
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(skyTop)}"/><stop offset="1" stop-color="${hex(skyLow)}"/></linearGradient>` +
      `<linearGradient id="ground" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(groundFar)}"/><stop offset="1" stop-color="${hex(groundNear)}"/></linearGradient></defs>`,
    `<rect width="${width}" height="${height}" fill="url(#sky)"/>`,
  ];

  if (t.stars) {
    const star = hex(muted(55, 0.4, 0.92));
    for (let i = int(rng, 20, 60); i > 0; i--) {
      parts.push(`<circle cx="${f1(rng() * width)}" cy="${f1(rng() * horizon * 0.9)}" r="${f1(s * range(rng, 0.002, 0.006))}" fill="${star}"/>`);
    }
  }
  if (t.celestial !== 'none') {
    const cx = width * range(rng, 0.1, 0.9);
    const cy = horizon * range(rng, 0.15, 0.55);
    const r = s * range(rng, 0.04, 0.09);
    const body = t.celestial === 'sun' ? muted(range(rng, 30, 55), 0.7, 0.78) : muted(t.skyHue, 0.1, 0.92);
    parts.push(
      `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r * 1.8)}" fill="${hex(body)}" opacity="0.25"/>`,
      `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r)}" fill="${hex(body)}"/>`,
    );
  }
  for (let i = int(rng, 0, 5); i > 0; i--) {
    parts.push(cloud(rng, rng() * width, horizon * range(rng, 0.1, 0.6), s * range(rng, 0.04, 0.09), t.skyLight));
  }
  for (let layer = int(rng, 1, 3); layer > 0; layer--) {
    const fill = muted((t.groundHue + range(rng, 60, 160)) % 360, range(rng, 0.08, 0.25), range(rng, 0.5, 0.72));
    parts.push(ridge(rng, width, horizon + 1, Math.min(0.7, range(rng, 0.08, 0.25) * layer) * horizon, fill, horizon + 2));
  }
  parts.push(`<rect y="${f1(horizon)}" width="${width}" height="${f1(height - horizon)}" fill="url(#ground)"/>`);
  if (t.water) {
    const sea = muted(t.skyHue, 0.35, 0.6);
    const seaEnd = horizon + (height - horizon) * range(rng, 0.4, 0.7);
    parts.push(`<rect y="${f1(horizon)}" width="${width}" height="${f1(seaEnd - horizon)}" fill="${hex(sea)}"/>`);
    const crest = hex(muted(t.skyHue, 0.2, 0.85));
    for (let i = int(rng, 6, 18); i > 0; i--) {
      const y = range(rng, horizon, seaEnd);
      parts.push(`<rect x="${f1(rng() * width)}" y="${f1(y)}" width="${f1(s * range(rng, 0.04, 0.12))}" height="${f1(Math.max(1, s * 0.006))}" fill="${crest}"/>`);
    }
  }
  // Back to front, so nearer (lower, larger) props overlap farther ones.
  const props = Array.from({ length: int(rng, 2, 12) }, () => ({ kind: pick(rng, t.props), x: rng() * width, depth: rng() }));
  props.sort((a, b) => a.depth - b.depth);
  for (const p of props) {
    const y = horizon + (height - horizon) * p.depth * 0.9 + 2;
    parts.push(prop(p.kind, rng, t, p.x, y, s * (0.08 + 0.22 * p.depth)));
  }
  return { svg: parts.join(''), shadow: muted(t.groundHue, 0.2, 0.38) };
}
