import { f1, flatPalette, type FlatPalette } from './flat.js';
import { int, pick, rngFrom, type Rng } from './prng.js';

/**
 * The graphic style (icons, logos, UI elements): a few flat shapes in a four-colour palette with
 * crisp geometric edges, centred with even padding, on a plain light background or on none
 * (transparent). Wide frames (≥ 1.6:1) get a UI element instead: a pill button with an icon and
 * label bars. Everything is derived from the prompt and seed; prompt words pick the glyph when
 * they name one.
 */

type Glyph = 'star' | 'heart' | 'bolt' | 'check' | 'leaf' | 'gear' | 'arrow' | 'plus' | 'drop' | 'ring';
type Base = 'circle' | 'rounded' | 'hexagon' | 'shield' | 'diamond';

const GLYPH_WORDS: [RegExp, Glyph][] = [
  [/\b(star|stars|favou?rite|rating)\b/i, 'star'],
  [/\b(heart|love|like|health)\b/i, 'heart'],
  [/\b(bolt|lightning|power|energy|electric|fast)\b/i, 'bolt'],
  [/\b(check|tick|done|success|ok|verified)\b/i, 'check'],
  [/\b(leaf|plant|eco|green|nature|organic)\b/i, 'leaf'],
  [/\b(gear|cog|settings?|config|engine)\b/i, 'gear'],
  [/\b(arrow|next|forward|upload|download|send)\b/i, 'arrow'],
  [/\b(plus|add|new|create)\b/i, 'plus'],
  [/\b(drop|water|rain|liquid|ink)\b/i, 'drop'],
  [/\b(ring|circle|loop|target)\b/i, 'ring'],
];
const GLYPHS: Glyph[] = ['star', 'heart', 'bolt', 'check', 'leaf', 'gear', 'arrow', 'plus', 'drop', 'ring'];
const BASES: Base[] = ['circle', 'rounded', 'hexagon', 'shield', 'diamond'];

function chooseGlyph(prompt: string, rng: Rng): Glyph {
  let best: { at: number; g: Glyph } | null = null;
  for (const [re, g] of GLYPH_WORDS) {
    const m = re.exec(prompt);
    if (m && (best === null || m.index < best.at)) best = { at: m.index, g };
  }
  const fallback = pick(rng, GLYPHS); // always drawn, so the stream does not depend on the words
  return best?.g ?? fallback;
}

const poly = (pts: [number, number][], fill: string) => `<polygon points="${pts.map(([x, y]) => `${f1(x)},${f1(y)}`).join(' ')}" fill="${fill}"/>`;

function regular(n: number, cx: number, cy: number, r: number, rot = -Math.PI / 2): [number, number][] {
  return Array.from({ length: n }, (_, i) => [cx + r * Math.cos(rot + (2 * Math.PI * i) / n), cy + r * Math.sin(rot + (2 * Math.PI * i) / n)]);
}

function baseShape(b: Base, cx: number, cy: number, r: number, fill: string): string {
  switch (b) {
    case 'circle':
      return `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r)}" fill="${fill}"/>`;
    case 'rounded':
      return `<rect x="${f1(cx - r)}" y="${f1(cy - r)}" width="${f1(2 * r)}" height="${f1(2 * r)}" rx="${f1(r * 0.32)}" fill="${fill}"/>`;
    case 'hexagon':
      return poly(regular(6, cx, cy, r * 1.08, 0), fill);
    case 'diamond':
      return poly(regular(4, cx, cy, r * 1.2), fill);
    case 'shield':
      return `<path d="M${f1(cx - r)},${f1(cy - r * 0.9)} L${f1(cx + r)},${f1(cy - r * 0.9)} L${f1(cx + r)},${f1(cy)} Q${f1(cx + r)},${f1(cy + r * 0.75)} ${f1(cx)},${f1(cy + r * 1.1)} Q${f1(cx - r)},${f1(cy + r * 0.75)} ${f1(cx - r)},${f1(cy)} Z" fill="${fill}"/>`;
  }
}

function glyph(g: Glyph, cx: number, cy: number, r: number, fill: string, hole: string): string {
  switch (g) {
    case 'star': {
      const pts: [number, number][] = [];
      for (let i = 0; i < 10; i++) {
        const rr = i % 2 === 0 ? r : r * 0.42;
        const a = -Math.PI / 2 + (Math.PI * i) / 5;
        pts.push([cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
      }
      return poly(pts, fill);
    }
    case 'heart':
      return `<path d="M${f1(cx)},${f1(cy + r * 0.85)} C${f1(cx - r * 1.3)},${f1(cy)} ${f1(cx - r * 0.9)},${f1(cy - r * 1.05)} ${f1(cx)},${f1(cy - r * 0.4)} C${f1(cx + r * 0.9)},${f1(cy - r * 1.05)} ${f1(cx + r * 1.3)},${f1(cy)} ${f1(cx)},${f1(cy + r * 0.85)} Z" fill="${fill}"/>`;
    case 'bolt':
      return poly([[cx + r * 0.2, cy - r], [cx - r * 0.55, cy + r * 0.12], [cx - r * 0.02, cy + r * 0.12], [cx - r * 0.2, cy + r], [cx + r * 0.55, cy - r * 0.15], [cx + r * 0.02, cy - r * 0.15]], fill);
    case 'check':
      return `<polyline points="${f1(cx - r * 0.7)},${f1(cy)} ${f1(cx - r * 0.15)},${f1(cy + r * 0.55)} ${f1(cx + r * 0.75)},${f1(cy - r * 0.5)}" fill="none" stroke="${fill}" stroke-width="${f1(r * 0.32)}" stroke-linecap="round" stroke-linejoin="round"/>`;
    case 'leaf':
      return `<path d="M${f1(cx - r * 0.8)},${f1(cy + r * 0.8)} Q${f1(cx - r * 0.9)},${f1(cy - r * 0.9)} ${f1(cx + r * 0.85)},${f1(cy - r * 0.85)} Q${f1(cx + r * 0.9)},${f1(cy + r * 0.9)} ${f1(cx - r * 0.8)},${f1(cy + r * 0.8)} Z" fill="${fill}"/>` +
        `<line x1="${f1(cx - r * 0.75)}" y1="${f1(cy + r * 0.75)}" x2="${f1(cx + r * 0.4)}" y2="${f1(cy - r * 0.4)}" stroke="${hole}" stroke-width="${f1(r * 0.1)}" stroke-linecap="round"/>`;
    case 'gear': {
      const pts: [number, number][] = [];
      const teeth = 8;
      for (let i = 0; i < teeth * 4; i++) {
        const a = (2 * Math.PI * i) / (teeth * 4);
        const rr = i % 4 < 2 ? r : r * 0.78;
        pts.push([cx + rr * Math.cos(a), cy + rr * Math.sin(a)]);
      }
      return poly(pts, fill) + `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r * 0.34)}" fill="${hole}"/>`;
    }
    case 'arrow':
      return poly([[cx - r * 0.8, cy - r * 0.22], [cx + r * 0.1, cy - r * 0.22], [cx + r * 0.1, cy - r * 0.65], [cx + r * 0.85, cy], [cx + r * 0.1, cy + r * 0.65], [cx + r * 0.1, cy + r * 0.22], [cx - r * 0.8, cy + r * 0.22]], fill);
    case 'plus': {
      const t = r * 0.28;
      return poly([[cx - t, cy - r], [cx + t, cy - r], [cx + t, cy - t], [cx + r, cy - t], [cx + r, cy + t], [cx + t, cy + t], [cx + t, cy + r], [cx - t, cy + r], [cx - t, cy + t], [cx - r, cy + t], [cx - r, cy - t], [cx - t, cy - t]], fill);
    }
    case 'drop':
      return `<path d="M${f1(cx)},${f1(cy - r)} C${f1(cx + r * 0.3)},${f1(cy - r * 0.4)} ${f1(cx + r * 0.75)},${f1(cy)} ${f1(cx + r * 0.75)},${f1(cy + r * 0.3)} A${f1(r * 0.75)},${f1(r * 0.75)} 0 0 1 ${f1(cx - r * 0.75)},${f1(cy + r * 0.3)} C${f1(cx - r * 0.75)},${f1(cy)} ${f1(cx - r * 0.3)},${f1(cy - r * 0.4)} ${f1(cx)},${f1(cy - r)} Z" fill="${fill}"/>`;
    case 'ring':
      return `<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r * 0.72)}" fill="none" stroke="${fill}" stroke-width="${f1(r * 0.3)}"/><circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r * 0.2)}" fill="${fill}"/>`;
  }
}

function icon(rng: Rng, p: FlatPalette, g: Glyph, cx: number, cy: number, r: number): string {
  const base = pick(rng, BASES);
  const parts = [baseShape(base, cx, cy, r, p.primary), glyph(g, cx, cy, r * 0.55, p.light, p.primary)];
  if (rng() < 0.5) {
    // A badge: the one accent in the secondary colour.
    const br = r * 0.26;
    parts.push(`<circle cx="${f1(cx + r * 0.78)}" cy="${f1(cy - r * 0.78)}" r="${f1(br)}" fill="${p.secondary}"/>`);
  }
  return parts.join('');
}

/** The SVG body (no outer <svg>) of a graphic; `transparent` leaves the background empty. */
export function graphicSvg(prompt: string, seed: number, width: number, height: number, transparent: boolean): string {
  const rng = rngFrom('easel-sketch/graphic', prompt, String(seed));
  const p = flatPalette(rng);
  const g = chooseGlyph(prompt, rng);
  const parts: string[] = transparent ? [] : [`<rect width="${width}" height="${height}" fill="${p.light}"/>`];
  if (width / height >= 1.6) {
    // A UI element: pill button, icon on the left, label bars on the right.
    const h = height * 0.62;
    const w = Math.min(width * 0.9, h * 4.2);
    const x = (width - w) / 2;
    const y = (height - h) / 2;
    parts.push(`<rect x="${f1(x)}" y="${f1(y)}" width="${f1(w)}" height="${f1(h)}" rx="${f1(h / 2)}" fill="${p.primary}"/>`);
    parts.push(`<circle cx="${f1(x + h / 2)}" cy="${f1(y + h / 2)}" r="${f1(h * 0.34)}" fill="${p.light}"/>`, glyph(g, x + h / 2, y + h / 2, h * 0.2, p.primary, p.light));
    const bars = int(rng, 1, 2);
    for (let i = 0; i < bars; i++) {
      const bh = h * (bars === 1 ? 0.16 : 0.12);
      const by = y + h / 2 - (bars * bh * 1.8) / 2 + i * bh * 1.8 + bh * 0.4;
      const bw = (w - h * 1.4) * (i === 0 ? 0.85 : 0.55);
      parts.push(`<rect x="${f1(x + h * 1.05)}" y="${f1(by)}" width="${f1(bw)}" height="${f1(bh)}" rx="${f1(bh / 2)}" fill="${p.light}"/>`);
    }
  } else {
    const r = Math.min(width, height) * 0.34;
    parts.push(icon(rng, p, g, width / 2, height / 2, r));
  }
  return parts.join('');
}
