import type { FigureSignature } from './signature.js';
import { hex, muted, type Rgb } from './palette.js';

/** Integer pixel rectangle. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Natural width/height of a figure; layouts may squeeze it narrower, never wider. */
export const FIGURE_ASPECT = 0.62;

/**
 * A stylised person as three flat blocks in the signature colours: head (colour 1) over body
 * (2) over legs (3). Blocks touch edge to edge so hasFigure can see the stack in one column,
 * and the head overlaps the legs horizontally so such columns exist. The caller renders this
 * inside shape-rendering="crispEdges": no antialiased fringe, interiors are exact colours.
 * Proportions give head/body/legs about 21%/36%/27% of the box area.
 */
export function figureSvg(sig: FigureSignature, b: Box, shadow: Rgb): string {
  const [head, body, legs] = sig.colors.map((c) => hex(c as Rgb));
  const headW = Math.round(b.w * 0.7);
  const headH = Math.round(b.h * 0.32);
  const bodyH = Math.round(b.h * 0.36);
  const legsH = b.h - headH - bodyH;
  const legW = Math.round(b.w * 0.42);
  const headX = b.x + Math.round((b.w - headW) / 2);
  const bodyY = b.y + headH;
  const legsY = bodyY + bodyH;
  return [
    // The shadow is decoration (safe colour) and sits under the feet, outside the stack.
    `<ellipse cx="${b.x + b.w / 2}" cy="${b.y + b.h}" rx="${(b.w * 0.7).toFixed(1)}" ry="${Math.max(1, b.h * 0.03).toFixed(1)}" fill="${hex(shadow)}" opacity="0.6"/>`,
    `<rect x="${headX}" y="${b.y}" width="${headW}" height="${headH}" rx="${Math.round(headW * 0.18)}" fill="${head}"/>`,
    ...eyes(headX, b.y, headW, headH),
    `<rect x="${b.x}" y="${bodyY}" width="${b.w}" height="${bodyH}" rx="${Math.round(b.w * 0.08)}" fill="${body}"/>`,
    `<rect x="${b.x}" y="${legsY}" width="${legW}" height="${legsH}" fill="${legs}"/>`,
    `<rect x="${b.x + b.w - legW}" y="${legsY}" width="${legW}" height="${legsH}" fill="${legs}"/>`,
  ].join('');
}

const EYE_WHITE = hex(muted(0, 0, 0.95));
const PUPIL = hex(muted(0, 0, 0.3));

/**
 * Eyes make a block read as a person. They are decoration-safe neutrals and small (about 3%
 * of the head), so they barely dent the head's signature area.
 */
function eyes(x: number, y: number, w: number, h: number): string[] {
  const size = Math.max(1, Math.round(w * 0.13));
  const pupil = Math.max(1, Math.round(size * 0.5));
  const ey = y + Math.round(h * 0.38);
  return [0.28, 0.72].flatMap((at) => {
    const ex = x + Math.round(w * at - size / 2);
    const px = ex + Math.round((size - pupil) / 2);
    const py = ey + Math.round((size - pupil) / 2);
    return [
      `<rect x="${ex}" y="${ey}" width="${size}" height="${size}" fill="${EYE_WHITE}"/>`,
      `<rect x="${px}" y="${py}" width="${pupil}" height="${pupil}" fill="${PUPIL}"/>`,
    ];
  });
}
