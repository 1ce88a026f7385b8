import { FIGURE_ASPECT, type Box } from './figure.js';
import { range, type Rng } from './prng.js';

/** Share of a grid cell a figure may take; the rest is the gap between neighbours. */
const CELL_FILL = 0.92;
const MIN_SQUEEZE = 0.8;

/** A portrait: one figure as large as the frame allows. */
export function portraitBox(width: number, height: number): Box {
  const h = Math.round(height * 0.94);
  const w = Math.round(Math.min(h * FIGURE_ASPECT, width * 0.94));
  return { x: Math.round((width - w) / 2), y: Math.round((height - h) / 2), w, h };
}

/**
 * Places n figures on a grid whose shape is chosen to make each figure as large as possible,
 * so any aspect ratio stays readable: four figures go side by side in a wide frame and 2x2
 * in a tall one. Cells leave ~8% slack so figures in adjacent rows never touch, which keeps
 * one figure's legs from stacking onto the next one's head in hasFigure's column scan.
 */
export function sceneBoxes(n: number, width: number, height: number, rng: Rng): Box[] {
  if (n === 0) return [];
  const areaX = width * 0.03;
  const areaY = height * 0.06;
  const areaW = width * 0.94;
  const areaH = height * 0.92;
  let best = { rows: 1, cols: n, h: 0, w: 0 };
  for (let rows = 1; rows <= n; rows++) {
    const cols = Math.ceil(n / rows);
    const cellW = areaW / cols;
    const cellH = areaH / rows;
    // A lone figure should not swallow the scene, and none may get thinner than
    // MIN_SQUEEZE of its natural width: a beanpole would maximise area but read badly.
    const h = Math.min(cellH * CELL_FILL, height * 0.8, (cellW * CELL_FILL) / (FIGURE_ASPECT * MIN_SQUEEZE));
    const w = Math.min(h * FIGURE_ASPECT, cellW * CELL_FILL);
    if (w * h > best.w * best.h) best = { rows, cols, h, w };
  }
  const { rows, cols } = best;
  const cellW = areaW / cols;
  const cellH = areaH / rows;
  const boxes: Box[] = [];
  for (let i = 0; i < n; i++) {
    const row = Math.floor(i / cols);
    const inRow = Math.min(cols, n - row * cols);
    // Centre a short last row instead of leaving a gap on the right.
    const rowX = areaX + ((cols - inRow) * cellW) / 2;
    const col = i % cols;
    const s = range(rng, 0.97, 1);
    const w = Math.max(3, Math.round(best.w * s));
    const h = Math.max(6, Math.round(best.h * s));
    const x = rowX + col * cellW + (cellW - w) * range(rng, 0.2, 0.8);
    const y = areaY + (row + 1) * cellH - h - (cellH - h) * range(rng, 0, 0.3);
    boxes.push({ x: Math.round(x), y: Math.round(y), w, h });
  }
  return boxes;
}
