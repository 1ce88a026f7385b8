import sharp, { type OverlayOptions } from 'sharp';
import { f1, hsl } from './flat.js';
import { range, rngFrom } from './prng.js';
import type { SketchStyle } from './styled.js';

export interface SketchCombineInput {
  images: Buffer[];
  prompt: string;
  seed: number;
  width: number;
  height: number;
  style?: SketchStyle;
  transparent?: boolean;
}

interface Cell {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Rows of cells: `rows[i]` images in row i, each row the full width. */
function cellsFor(counts: number[], w: number, h: number, gutter: number): Cell[] {
  const cells: Cell[] = [];
  const rowH = (h - gutter * (counts.length + 1)) / counts.length;
  counts.forEach((k, r) => {
    const cw = (w - gutter * (k + 1)) / k;
    for (let i = 0; i < k; i++) cells.push({ x: gutter + i * (cw + gutter), y: gutter + r * (rowH + gutter), w: cw, h: rowH });
  });
  return cells;
}

/**
 * How the prompt arranges n images: "side by side"/"in a row" → one row, "stacked"/"column" →
 * one column, otherwise the grid that suits the frame (wide frames favour rows of 2–3).
 */
export function arrangement(prompt: string, n: number, w: number, h: number): number[] {
  if (/\b(side by side|in a row|row|horizontal(ly)?|left to right|next to each other)\b/i.test(prompt)) return [n];
  if (/\b(stack(ed)?|column|vertical(ly)?|top to bottom|above|below)\b/i.test(prompt)) return Array.from({ length: n }, () => 1);
  const wide = w >= h;
  switch (n) {
    case 2:
      return wide ? [2] : [1, 1];
    case 3:
      return wide ? [3] : [1, 2];
    case 4:
      return [2, 2];
    default:
      return wide ? [3, n - 3] : [2, 1, n - 3];
  }
}

/**
 * The offline renderer's combine: the inputs composed into one frame in the order given, tiled
 * as the prompt asks (see `arrangement`), on a background whose colour comes from the prompt's
 * hash. Images fill their cells (cropped); graphics and diagrams are fitted whole. Diagram
 * sections are joined by arrows from each section to the next; a transparent graphic keeps an
 * empty background.
 */
export async function renderSketchCombine(input: SketchCombineInput): Promise<Buffer> {
  const { images, prompt, seed, width, height } = input;
  const style = input.style ?? 'image';
  const rng = rngFrom('easel-sketch/combine', prompt, String(seed));
  const transparent = style === 'graphic' && input.transparent === true;
  const s = Math.min(width, height);
  const gutter = Math.round(s * (style === 'diagram' ? 0.06 : range(rng, 0.015, 0.04)));
  const cells = cellsFor(arrangement(prompt, images.length, width, height), width, height, gutter);
  const bg = style === 'diagram' ? '#ffffff' : hsl(range(rng, 0, 360), range(rng, 0.2, 0.45), range(rng, 0.82, 0.92));
  const layers: OverlayOptions[] = await Promise.all(
    images.map(async (img, i) => {
      const c = cells[i]!;
      const cw = Math.max(1, Math.round(c.w));
      const ch = Math.max(1, Math.round(c.h));
      const fitted = await sharp(img)
        .autoOrient()
        .resize(cw, ch, style === 'image' ? { fit: 'cover', position: 'attention' } : { fit: 'contain', background: style === 'diagram' ? '#ffffff' : { r: 0, g: 0, b: 0, alpha: 0 } })
        .ensureAlpha()
        .png()
        .toBuffer();
      return { input: fitted, left: Math.round(c.x), top: Math.round(c.y) };
    }),
  );
  if (style === 'diagram') {
    const sw = Math.max(1.5, s * 0.004);
    const m = Math.max(4, sw * 3);
    let body = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="${f1(m / sw)}" markerHeight="${f1(m / sw)}" orient="auto"><path d="M0,0 L10,5 L0,10 Z" fill="#37414d"/></marker></defs>`;
    for (let i = 1; i < cells.length && i < images.length; i++) {
      const a = cells[i - 1]!;
      const b = cells[i]!;
      const sameRow = Math.abs(a.y - b.y) < 1;
      const [x1, y1, x2, y2] = sameRow ? [a.x + a.w, a.y + a.h / 2, b.x, b.y + b.h / 2] : [a.x + a.w / 2, a.y + a.h, b.x + b.w / 2, b.y];
      body += `<line x1="${f1(x1)}" y1="${f1(y1)}" x2="${f1(x2)}" y2="${f1(y2)}" stroke="#37414d" stroke-width="${f1(sw)}" marker-end="url(#arrow)"/>`;
    }
    layers.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`), left: 0, top: 0 });
  }
  const canvas = sharp({ create: { width, height, channels: 4, background: transparent ? { r: 0, g: 0, b: 0, alpha: 0 } : bg } }).composite(layers);
  const png = await canvas.png().toBuffer();
  return transparent ? png : sharp(png).flatten({ background: bg }).png({ compressionLevel: 6 }).toBuffer();
}
