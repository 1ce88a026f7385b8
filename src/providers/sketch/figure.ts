import type { FigureSignature } from './signature.js';
import { hex, muted, type Rgb } from './palette.js';
import { pictogramSvg } from './pictograms.js';

/** Integer pixel rectangle. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Natural width/height of a figure; layouts may squeeze it narrower, never wider. */
export const FIGURE_ASPECT = 0.62;

/** Props an appearance can name, drawn beside (or on) the figure. */
const PROPS: [RegExp, string, 'hat' | 'hand' | 'back' | 'face'][] = [
  [/\bumbrellas?\b/, 'umbrella', 'hand'],
  [/\b(top hat|hat|fedora|bowler)\b/, 'top-hat', 'hat'],
  [/\b(cap|helmet|beret)\b/, 'billed-cap', 'hat'],
  [/\bcrown|tiara\b/, 'crown', 'hat'],
  [/\b(goggles)\b/, 'goggles', 'face'],
  [/\b(glasses|spectacles)\b/, 'glasses', 'face'],
  [/\b(backpack|rucksack|satchel)\b/, 'backpack', 'back'],
  [/\b(guitar)\b/, 'guitar', 'hand'],
  [/\b(camera)\b/, 'camera', 'hand'],
  [/\b(lantern|lamp)\b/, 'red-paper-lantern', 'hand'],
  [/\b(map|maps|cartographer)\b/, 'world-map', 'hand'],
  [/\b(books?|scholar|librarian)\b/, 'green-book', 'hand'],
  [/\b(briefcase|courier|parcel|package)\b/, 'package', 'hand'],
  [/\b(sword|knight)\b/, 'crossed-swords', 'hand'],
  [/\b(flowers?|bouquet)\b/, 'bouquet', 'hand'],
  [/\b(scarf)\b/, 'scarf', 'back'],
];

/** Which props an appearance names (at most one per place). */
export function figureProps(appearance: string): { icon: string; at: 'hat' | 'hand' | 'back' | 'face' }[] {
  const text = appearance.toLowerCase();
  const out: { icon: string; at: 'hat' | 'hand' | 'back' | 'face' }[] = [];
  for (const [re, icon, at] of PROPS) if (re.test(text) && !out.some((p) => p.at === at)) out.push({ icon, at });
  return out;
}

const SKIN = hex(muted(28, 0.55, 0.8));

/**
 * A stylised person in the signature colours: hair (colour 1) framing a face, over clothes (2),
 * over legs (3), plus the props its appearance names. The hair frames the face on both sides, so
 * columns at the sides of the head run hair → clothes → legs with no gap: that is the stack
 * hasFigure looks for. The caller renders this inside shape-rendering="crispEdges": no
 * antialiased fringe, interiors are exact colours. Props are decoration colours drawn beside
 * the figure or over the top of the hair, never across the stacked side columns' full height.
 */
export function figureSvg(sig: FigureSignature, b: Box, shadow: Rgb, appearance = '', uid = 'f'): string {
  const [hair, body, legs] = sig.colors.map((c) => hex(c as Rgb));
  const headW = Math.round(b.w * 0.7);
  const headH = Math.round(b.h * 0.32);
  const bodyH = Math.round(b.h * 0.36);
  const legsH = b.h - headH - bodyH;
  const legW = Math.round(b.w * 0.42);
  const headX = b.x + Math.round((b.w - headW) / 2);
  const bodyY = b.y + headH;
  const legsY = bodyY + bodyH;
  // The face: inset from the hair at the sides and top, down to the collar.
  const faceX = headX + Math.round(headW * 0.2);
  const faceW = headW - 2 * Math.round(headW * 0.2);
  const faceY = b.y + Math.round(headH * 0.3);
  const faceH = bodyY - faceY;
  const parts = [
    `<ellipse cx="${b.x + b.w / 2}" cy="${b.y + b.h}" rx="${(b.w * 0.7).toFixed(1)}" ry="${Math.max(1, b.h * 0.03).toFixed(1)}" fill="${hex(shadow)}" opacity="0.6"/>`,
    `<rect x="${headX}" y="${b.y}" width="${headW}" height="${headH}" rx="${Math.round(headW * 0.22)}" fill="${hair}"/>`,
    faceW > 0 && faceH > 0 ? `<rect x="${faceX}" y="${faceY}" width="${faceW}" height="${faceH}" rx="${Math.round(faceW * 0.25)}" fill="${SKIN}"/>` : '',
    ...eyes(faceX, faceY, faceW, faceH),
    `<rect x="${b.x}" y="${bodyY}" width="${b.w}" height="${bodyH}" rx="${Math.round(b.w * 0.08)}" fill="${body}"/>`,
    `<rect x="${b.x}" y="${legsY}" width="${legW}" height="${legsH}" fill="${legs}"/>`,
    `<rect x="${b.x + b.w - legW}" y="${legsY}" width="${legW}" height="${legsH}" fill="${legs}"/>`,
  ];
  for (const [i, p] of figureProps(appearance).entries()) {
    const id = `${uid}-${i}`;
    if (p.at === 'hat') {
      const size = headW * 0.9;
      parts.push(`<g shape-rendering="geometricPrecision">${pictogramSvg(p.icon, b.x + b.w / 2 - size / 2, b.y - size * 0.62, size, null, id)}</g>`);
    } else if (p.at === 'face') {
      const size = faceW * 1.05;
      parts.push(`<g shape-rendering="geometricPrecision">${pictogramSvg(p.icon, faceX + faceW / 2 - size / 2, faceY + faceH * 0.3 - size / 2, size, null, id)}</g>`);
    } else if (p.at === 'hand') {
      const size = b.w * 0.62;
      parts.push(`<g shape-rendering="geometricPrecision">${pictogramSvg(p.icon, b.x + b.w * 0.72, bodyY + bodyH * 0.55 - size * 0.7, size, null, id)}</g>`);
    } else {
      const size = b.w * 0.5;
      parts.push(`<g shape-rendering="geometricPrecision">${pictogramSvg(p.icon, b.x - size * 0.85, bodyY + bodyH * 0.1, size, null, id)}</g>`);
    }
  }
  return parts.join('');
}

const EYE_WHITE = hex(muted(0, 0, 0.95));
const PUPIL = hex(muted(0, 0, 0.3));

/** Eyes make the face read as one; decoration-safe neutrals. */
function eyes(x: number, y: number, w: number, h: number): string[] {
  if (w < 4 || h < 4) return [];
  const size = Math.max(1, Math.round(w * 0.2));
  const pupil = Math.max(1, Math.round(size * 0.55));
  const ey = y + Math.round(h * 0.3);
  return [0.27, 0.73].flatMap((at) => {
    const ex = x + Math.round(w * at - size / 2);
    const px = ex + Math.round((size - pupil) / 2);
    const py = ey + Math.round((size - pupil) / 2);
    return [
      `<rect x="${ex}" y="${ey}" width="${size}" height="${size}" fill="${EYE_WHITE}"/>`,
      `<rect x="${px}" y="${py}" width="${pupil}" height="${pupil}" fill="${PUPIL}"/>`,
    ];
  });
}
