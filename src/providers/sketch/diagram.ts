import { f1, hsl } from './flat.js';
import { int, range, rngFrom, type Rng } from './prng.js';

/**
 * The diagram style: boxes joined by connectors on a white background, laid out as the diagram
 * type is drawn by people (a flowchart runs top to bottom, a sequence diagram has lifelines, a
 * mind map radiates, an org chart is a tree with orthogonal connectors, …). Labels are grey
 * bars, never text, so missing fonts cannot change the output. The number of nodes follows the
 * prompt where it lists steps ("a -> b -> c", "a, b, c", "… then …"), else the seed.
 */

export type SketchDiagramType = 'flowchart' | 'sequence' | 'architecture' | 'mindmap' | 'er' | 'class' | 'timeline' | 'org-chart';

interface Ink {
  line: string;
  fill: string;
  accent: string;
  header: string;
  label: string;
  sw: number;
  s: number;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const cx = (b: Box) => b.x + b.w / 2;
const cy = (b: Box) => b.y + b.h / 2;

/** How many things the prompt lists; 0 when it does not read as a list. */
export function listedItems(prompt: string): number {
  const parts = prompt.split(/->|→|=>|,|;|\n|\bthen\b|\band then\b/i).map((p) => p.trim()).filter((p) => p.length > 0);
  return parts.length >= 2 ? parts.length : 0;
}

function nodeCount(prompt: string, rng: Rng, lo: number, hi: number, dflt: [number, number]): number {
  const listed = listedItems(prompt);
  const fallback = int(rng, dflt[0], dflt[1]); // drawn either way: the rest of the stream stays put
  return Math.max(lo, Math.min(hi, listed || fallback));
}

function rect(b: Box, ink: Ink, fill = ink.fill, rx = ink.s * 0.012): string {
  return `<rect x="${f1(b.x)}" y="${f1(b.y)}" width="${f1(b.w)}" height="${f1(b.h)}" rx="${f1(rx)}" fill="${fill}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`;
}

/** Label placeholder: one or two grey bars centred in a box. */
function label(b: Box, ink: Ink, rng: Rng, lines = 1): string {
  const bh = Math.max(2, Math.min(b.h * 0.16, ink.s * 0.016));
  let out = '';
  for (let i = 0; i < lines; i++) {
    const bw = b.w * range(rng, 0.45, 0.7) * (i === 0 ? 1 : 0.7);
    const y = cy(b) - ((lines - 1) * bh * 1.9) / 2 + i * bh * 1.9 - bh / 2;
    out += `<rect x="${f1(cx(b) - bw / 2)}" y="${f1(y)}" width="${f1(bw)}" height="${f1(bh)}" rx="${f1(bh / 2)}" fill="${ink.label}"/>`;
  }
  return out;
}

function arrow(x1: number, y1: number, x2: number, y2: number, ink: Ink, dashed = false): string {
  return `<line x1="${f1(x1)}" y1="${f1(y1)}" x2="${f1(x2)}" y2="${f1(y2)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"${dashed ? ` stroke-dasharray="${f1(ink.sw * 4)},${f1(ink.sw * 3)}"` : ''} marker-end="url(#arrow)"/>`;
}

function path(d: string, ink: Ink, marker = true, dashed = false): string {
  return `<path d="${d}" fill="none" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"${dashed ? ` stroke-dasharray="${f1(ink.sw * 4)},${f1(ink.sw * 3)}"` : ''}${marker ? ' marker-end="url(#arrow)"' : ''}/>`;
}

/** The point where the segment from a box's centre towards (tx, ty) leaves the box. */
function edge(b: Box, tx: number, ty: number): [number, number] {
  const dx = tx - cx(b);
  const dy = ty - cy(b);
  if (dx === 0 && dy === 0) return [cx(b), cy(b)];
  const t = Math.min(Math.abs(b.w / 2 / (dx || 1e-9)), Math.abs(b.h / 2 / (dy || 1e-9)));
  return [cx(b) + dx * t, cy(b) + dy * t];
}

function connect(a: Box, b: Box, ink: Ink, dashed = false): string {
  const [x1, y1] = edge(a, cx(b), cy(b));
  const [x2, y2] = edge(b, cx(a), cy(a));
  return arrow(x1, y1, x2, y2, ink, dashed);
}

function flowchart(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const horizontal = w > h * 1.3;
  const main = n;
  const decision = main >= 3 ? Math.floor(main / 2) : -1;
  const boxes: Box[] = [];
  for (let i = 0; i < main; i++) {
    const along = (i + 0.5) / main;
    if (horizontal) {
      const bw = Math.min((w * 0.8) / main, w * 0.16);
      const bh = Math.min(h * 0.2, bw * 0.6);
      boxes.push({ x: w * 0.06 + along * w * 0.8 - bw / 2 + w * 0.04, y: h * 0.38 - bh / 2, w: bw, h: bh });
    } else {
      const bh = Math.min((h * 0.8) / main * 0.6, h * 0.1);
      const bw = Math.min(w * 0.34, bh * 3);
      boxes.push({ x: w * 0.4 - bw / 2, y: h * 0.08 + along * h * 0.84 - bh / 2, w: bw, h: bh });
    }
  }
  boxes.forEach((b, i) => {
    if (i === decision) {
      const r = Math.min(b.w, b.h * 1.6) * 0.62;
      const pts = [[cx(b), cy(b) - r * 0.62], [cx(b) + r, cy(b)], [cx(b), cy(b) + r * 0.62], [cx(b) - r, cy(b)]];
      out.push(`<polygon points="${pts.map(([x, y]) => `${f1(x!)},${f1(y!)}`).join(' ')}" fill="${ink.accent}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
    } else {
      const terminal = i === 0 || i === main - 1;
      out.push(rect(b, ink, ink.fill, terminal ? b.h / 2 : ink.s * 0.012), label(b, ink, rng));
    }
    if (i > 0) out.push(connect(boxes[i - 1]!, b, ink));
  });
  if (decision >= 0) {
    // The "no" branch: a side box, looping back into the step after the decision.
    const d = boxes[decision]!;
    const side: Box = horizontal
      ? { x: d.x, y: h * 0.68, w: d.w, h: d.h }
      : { x: w * 0.7, y: d.y, w: d.w * 0.8, h: d.h };
    out.push(rect(side, ink), label(side, ink, rng), connect(d, side, ink));
    const next = boxes[decision + 1];
    if (next) {
      out.push(
        horizontal
          ? path(`M${f1(cx(side) + side.w / 2)},${f1(cy(side))} L${f1(cx(next))},${f1(cy(side))} L${f1(cx(next))},${f1(next.y + next.h)}`, ink)
          : path(`M${f1(cx(side))},${f1(side.y + side.h)} L${f1(cx(side))},${f1(cy(next))} L${f1(next.x + next.w)},${f1(cy(next))}`, ink),
      );
    }
  }
  return out.join('');
}

function sequence(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const p = Math.max(2, Math.min(6, n));
  const colW = (w * 0.9) / p;
  const heads: Box[] = Array.from({ length: p }, (_, i) => {
    const bw = colW * 0.72;
    const bh = Math.min(h * 0.09, bw * 0.45);
    return { x: w * 0.05 + i * colW + (colW - bw) / 2, y: h * 0.05, w: bw, h: bh };
  });
  const bottom = h * 0.94;
  for (const b of heads) {
    out.push(`<line x1="${f1(cx(b))}" y1="${f1(b.y + b.h)}" x2="${f1(cx(b))}" y2="${f1(bottom)}" stroke="${ink.line}" stroke-width="${f1(ink.sw * 0.8)}" stroke-dasharray="${f1(ink.sw * 4)},${f1(ink.sw * 3)}"/>`);
    out.push(rect(b, ink, ink.accent), label(b, ink, rng));
  }
  const messages = Math.max(3, Math.min(10, n + 2));
  const top = heads[0]!.y + heads[0]!.h + h * 0.06;
  const step = (bottom - top - h * 0.03) / messages;
  for (let m = 0; m < messages; m++) {
    const from = m === 0 ? 0 : int(rng, 0, p - 1);
    let to = m === 0 ? 1 : int(rng, 0, p - 2);
    if (to >= from) to++;
    const y = top + m * step + step / 2;
    const reply = m > 0 && rng() < 0.3;
    const x1 = cx(heads[from]!);
    const x2 = cx(heads[to]!);
    out.push(arrow(x1, y, x2 + (x2 > x1 ? -ink.sw * 2 : ink.sw * 2), y, ink, reply));
    const lw = Math.abs(x2 - x1) * 0.5;
    out.push(`<rect x="${f1((x1 + x2) / 2 - lw / 2)}" y="${f1(y - step * 0.32)}" width="${f1(lw)}" height="${f1(Math.max(2, step * 0.12))}" rx="1" fill="${ink.label}"/>`);
  }
  return out.join('');
}

function architecture(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const counts = [Math.max(1, Math.round(n * 0.25)), Math.max(2, Math.round(n * 0.45)), 0];
  counts[2] = Math.max(1, n - counts[0]! - counts[1]!);
  const tiers: Box[][] = [];
  counts.forEach((c, t) => {
    const zone: Box = { x: w * 0.04, y: h * (0.04 + t * 0.32), w: w * 0.92, h: h * 0.28 };
    out.push(`<rect x="${f1(zone.x)}" y="${f1(zone.y)}" width="${f1(zone.w)}" height="${f1(zone.h)}" rx="${f1(ink.s * 0.02)}" fill="none" stroke="${ink.label}" stroke-width="${f1(ink.sw)}" stroke-dasharray="${f1(ink.sw * 5)},${f1(ink.sw * 3)}"/>`);
    const row: Box[] = [];
    for (let i = 0; i < c; i++) {
      const cell = zone.w / c;
      const bw = Math.min(cell * 0.7, w * 0.22);
      const bh = zone.h * 0.5;
      row.push({ x: zone.x + i * cell + (cell - bw) / 2, y: zone.y + (zone.h - bh) / 2, w: bw, h: bh });
    }
    tiers.push(row);
  });
  tiers.forEach((row, t) =>
    row.forEach((b) => {
      if (t === 2) {
        // Data stores as cylinders.
        const ry = b.h * 0.14;
        out.push(
          `<path d="M${f1(b.x)},${f1(b.y + ry)} L${f1(b.x)},${f1(b.y + b.h - ry)} A${f1(b.w / 2)},${f1(ry)} 0 0 0 ${f1(b.x + b.w)},${f1(b.y + b.h - ry)} L${f1(b.x + b.w)},${f1(b.y + ry)}" fill="${ink.fill}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`,
          `<ellipse cx="${f1(cx(b))}" cy="${f1(b.y + ry)}" rx="${f1(b.w / 2)}" ry="${f1(ry)}" fill="${ink.accent}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`,
          label({ ...b, y: b.y + ry }, ink, rng),
        );
      } else out.push(rect(b, ink, t === 0 ? ink.accent : ink.fill), label(b, ink, rng, t === 1 ? 2 : 1));
    }),
  );
  for (let t = 0; t < 2; t++) {
    const upper = tiers[t]!;
    const lower = tiers[t + 1]!;
    lower.forEach((b, j) => {
      const a = upper[Math.min(upper.length - 1, Math.floor((j * upper.length) / lower.length))]!;
      out.push(connect(a, b, ink));
      if (rng() < 0.35 && upper.length > 1) out.push(connect(upper[int(rng, 0, upper.length - 1)]!, b, ink, true));
    });
  }
  return out.join('');
}

function mindmap(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const c: Box = { x: w / 2 - w * 0.11, y: h / 2 - h * 0.07, w: w * 0.22, h: h * 0.14 };
  const branches = Math.max(3, Math.min(8, n));
  const rx = w * 0.34;
  const ry = h * 0.34;
  const nodes: string[] = [];
  for (let i = 0; i < branches; i++) {
    const a = range(rng, -0.15, 0.15) + (2 * Math.PI * i) / branches;
    const bx = w / 2 + rx * Math.cos(a);
    const by = h / 2 + ry * Math.sin(a);
    const b: Box = { x: bx - w * 0.075, y: by - h * 0.045, w: w * 0.15, h: h * 0.09 };
    const mx = (w / 2 + bx) / 2 + range(rng, -1, 1) * w * 0.04;
    const my = (h / 2 + by) / 2 + range(rng, -1, 1) * h * 0.04;
    out.push(path(`M${f1(w / 2)},${f1(h / 2)} Q${f1(mx)},${f1(my)} ${f1(bx)},${f1(by)}`, ink, false));
    nodes.push(rect(b, ink, ink.fill, b.h / 2), label(b, ink, rng));
    // Leaves: small dots further out on some branches.
    for (let k = int(rng, 0, 2); k > 0; k--) {
      const la = a + range(rng, -0.35, 0.35);
      const lx = w / 2 + rx * 1.32 * Math.cos(la);
      const ly = h / 2 + ry * 1.32 * Math.sin(la);
      out.push(`<line x1="${f1(bx)}" y1="${f1(by)}" x2="${f1(lx)}" y2="${f1(ly)}" stroke="${ink.line}" stroke-width="${f1(ink.sw * 0.8)}"/>`);
      nodes.push(`<circle cx="${f1(lx)}" cy="${f1(ly)}" r="${f1(ink.s * 0.018)}" fill="${ink.accent}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
    }
  }
  out.push(...nodes, `<ellipse cx="${f1(cx(c))}" cy="${f1(cy(c))}" rx="${f1(c.w / 2)}" ry="${f1(c.h / 2)}" fill="${ink.header}" stroke="${ink.line}" stroke-width="${f1(ink.sw * 1.5)}"/>`, label(c, { ...ink, label: ink.fill }, rng));
  return out.join('');
}

/** A grid of `n` cells filling the frame, for entity and class boxes. */
function grid(w: number, h: number, n: number, fillW: number, fillH: number): Box[] {
  const cols = Math.ceil(Math.sqrt((n * w) / h));
  const rows = Math.ceil(n / cols);
  const cw = (w * 0.92) / cols;
  const ch = (h * 0.9) / rows;
  return Array.from({ length: n }, (_, i) => {
    const r = Math.floor(i / cols);
    const inRow = Math.min(cols, n - r * cols);
    const c = i % cols;
    const ox = w * 0.04 + ((cols - inRow) * cw) / 2;
    return { x: ox + c * cw + (cw * (1 - fillW)) / 2, y: h * 0.05 + r * ch + (ch * (1 - fillH)) / 2, w: cw * fillW, h: ch * fillH };
  });
}

function crowFoot(x: number, y: number, dx: number, dy: number, ink: Ink): string {
  // Three prongs fanning out where a "many" end meets its entity.
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const k = ink.s * 0.02;
  return [-1, 0, 1]
    .map((t) => `<line x1="${f1(x - ux * k)}" y1="${f1(y - uy * k)}" x2="${f1(x - uy * k * t * 0.8)}" y2="${f1(y + ux * k * t * 0.8)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`)
    .join('');
}

function er(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const boxes = grid(w, h, Math.max(2, Math.min(6, n)), 0.62, 0.62);
  const links: [number, number][] = [];
  for (let i = 1; i < boxes.length; i++) links.push([int(rng, 0, i - 1), i]);
  for (const [a, b] of links) {
    const A = boxes[a]!;
    const B = boxes[b]!;
    const [x1, y1] = edge(A, cx(B), cy(B));
    const [x2, y2] = edge(B, cx(A), cy(A));
    out.push(`<line x1="${f1(x1)}" y1="${f1(y1)}" x2="${f1(x2)}" y2="${f1(y2)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`, crowFoot(x2, y2, x2 - x1, y2 - y1, ink));
  }
  for (const b of boxes) {
    const headH = b.h * 0.22;
    out.push(rect(b, ink), `<rect x="${f1(b.x)}" y="${f1(b.y)}" width="${f1(b.w)}" height="${f1(headH)}" fill="${ink.header}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
    out.push(label({ ...b, h: headH }, { ...ink, label: ink.fill }, rng));
    const rows = int(rng, 2, 5);
    const rh = (b.h - headH) / rows;
    for (let r = 0; r < rows; r++) {
      const bh = Math.max(2, rh * 0.28);
      const y = b.y + headH + r * rh + (rh - bh) / 2;
      out.push(`<rect x="${f1(b.x + b.w * 0.08)}" y="${f1(y)}" width="${f1(b.w * range(rng, 0.35, 0.75))}" height="${f1(bh)}" rx="1" fill="${r === 0 ? ink.line : ink.label}"/>`);
    }
  }
  return out.join('');
}

function classDiagram(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const count = Math.max(2, Math.min(7, n));
  const base: Box = { x: w / 2 - w * 0.12, y: h * 0.05, w: w * 0.24, h: h * 0.32 };
  const kids = count - 1;
  const cw = (w * 0.92) / kids;
  const children: Box[] = Array.from({ length: kids }, (_, i) => {
    const bw = Math.min(cw * 0.8, w * 0.24);
    return { x: w * 0.04 + i * cw + (cw - bw) / 2, y: h * 0.6, w: bw, h: h * 0.34 };
  });
  // Inheritance: a shared bus up to a hollow triangle under the base class.
  const busY = h * 0.5;
  const tri = ink.s * 0.03;
  const apexY = base.y + base.h;
  out.push(
    `<line x1="${f1(cx(base))}" y1="${f1(apexY + tri)}" x2="${f1(cx(base))}" y2="${f1(busY)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`,
    `<line x1="${f1(cx(children[0]!))}" y1="${f1(busY)}" x2="${f1(cx(children[kids - 1]!))}" y2="${f1(busY)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`,
    `<polygon points="${f1(cx(base))},${f1(apexY)} ${f1(cx(base) - tri * 0.7)},${f1(apexY + tri)} ${f1(cx(base) + tri * 0.7)},${f1(apexY + tri)}" fill="#ffffff" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`,
  );
  for (const c of children) out.push(`<line x1="${f1(cx(c))}" y1="${f1(busY)}" x2="${f1(cx(c))}" y2="${f1(c.y)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
  for (const b of [base, ...children]) {
    const parts = [0.24, 0.38, 0.38];
    let y = b.y;
    out.push(rect(b, ink, ink.fill, 0));
    parts.forEach((share, k) => {
      const ph = b.h * share;
      if (k > 0) out.push(`<line x1="${f1(b.x)}" y1="${f1(y)}" x2="${f1(b.x + b.w)}" y2="${f1(y)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
      if (k === 0) out.push(`<rect x="${f1(b.x)}" y="${f1(y)}" width="${f1(b.w)}" height="${f1(ph)}" fill="${ink.accent}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`, label({ ...b, y, h: ph }, ink, rng));
      else {
        const rows = int(rng, 1, 3);
        for (let r = 0; r < rows; r++) {
          const bh = Math.max(2, (ph / rows) * 0.22);
          out.push(`<rect x="${f1(b.x + b.w * 0.08)}" y="${f1(y + (r + 0.5) * (ph / rows) - bh / 2)}" width="${f1(b.w * range(rng, 0.3, 0.7))}" height="${f1(bh)}" rx="1" fill="${ink.label}"/>`);
        }
      }
      y += ph;
    });
  }
  return out.join('');
}

function timeline(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const count = Math.max(3, Math.min(10, n));
  const y = h / 2;
  out.push(arrow(w * 0.03, y, w * 0.97, y, { ...ink, sw: ink.sw * 1.6 }));
  for (let i = 0; i < count; i++) {
    const x = w * 0.07 + (i + 0.5) * ((w * 0.84) / count);
    const up = i % 2 === 0;
    const bw = Math.min((w * 0.84) / count * 1.6, w * 0.2);
    const bh = h * range(rng, 0.12, 0.16);
    const stem = h * range(rng, 0.1, 0.2);
    const b: Box = { x: x - bw / 2, y: up ? y - stem - bh : y + stem, w: bw, h: bh };
    out.push(`<line x1="${f1(x)}" y1="${f1(y)}" x2="${f1(x)}" y2="${f1(up ? b.y + b.h : b.y)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
    out.push(rect(b, ink), label(b, ink, rng, 2));
    out.push(`<circle cx="${f1(x)}" cy="${f1(y)}" r="${f1(ink.s * 0.014)}" fill="${ink.header}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
  }
  return out.join('');
}

function orgChart(w: number, h: number, n: number, ink: Ink, rng: Rng): string {
  const out: string[] = [];
  const count = Math.max(3, Math.min(13, n));
  const level2 = Math.max(2, Math.min(4, Math.round(Math.sqrt(count - 1))));
  const level3 = count - 1 - level2;
  const levels: number[] = [1, level2, ...(level3 > 0 ? [level3] : [])];
  const rowH = (h * 0.9) / levels.length;
  const rows: Box[][] = levels.map((k, r) => {
    const cw = (w * 0.92) / k;
    const bw = Math.min(cw * 0.78, w * 0.22);
    const bh = Math.min(rowH * 0.45, bw * 0.55);
    return Array.from({ length: k }, (_, i) => ({ x: w * 0.04 + i * cw + (cw - bw) / 2, y: h * 0.05 + r * rowH + (rowH - bh) / 2, w: bw, h: bh }));
  });
  for (let r = 1; r < rows.length; r++) {
    const parents = rows[r - 1]!;
    const kids = rows[r]!;
    // Each child reports to the parent above its share of the row.
    const groups = new Map<number, Box[]>();
    kids.forEach((c, i) => {
      const p = Math.min(parents.length - 1, Math.floor((i * parents.length) / kids.length));
      groups.set(p, [...(groups.get(p) ?? []), c]);
    });
    for (const [p, cs] of groups) {
      const parent = parents[p]!;
      const busY = (parent.y + parent.h + cs[0]!.y) / 2;
      out.push(`<line x1="${f1(cx(parent))}" y1="${f1(parent.y + parent.h)}" x2="${f1(cx(parent))}" y2="${f1(busY)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
      const xs = [...cs.map(cx), cx(parent)];
      out.push(`<line x1="${f1(Math.min(...xs))}" y1="${f1(busY)}" x2="${f1(Math.max(...xs))}" y2="${f1(busY)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
      for (const c of cs) out.push(`<line x1="${f1(cx(c))}" y1="${f1(busY)}" x2="${f1(cx(c))}" y2="${f1(c.y)}" stroke="${ink.line}" stroke-width="${f1(ink.sw)}"/>`);
    }
  }
  rows.forEach((row, r) => row.forEach((b) => out.push(rect(b, ink, r === 0 ? ink.header : r === 1 ? ink.accent : ink.fill), label(b, r === 0 ? { ...ink, label: ink.fill } : ink, rng, 2))));
  return out.join('');
}

const LAYOUTS: Record<SketchDiagramType, { n: [number, number, number, number]; draw: (w: number, h: number, n: number, ink: Ink, rng: Rng) => string }> = {
  flowchart: { n: [3, 9, 4, 7], draw: flowchart },
  sequence: { n: [2, 6, 3, 5], draw: sequence },
  architecture: { n: [4, 10, 5, 8], draw: architecture },
  mindmap: { n: [3, 8, 4, 7], draw: mindmap },
  er: { n: [2, 6, 3, 5], draw: er },
  class: { n: [2, 7, 3, 5], draw: classDiagram },
  timeline: { n: [3, 10, 4, 7], draw: timeline },
  'org-chart': { n: [3, 13, 5, 9], draw: orgChart },
};

/** The SVG body (defs, background, drawing) of a diagram of `type`. */
export function diagramSvg(prompt: string, seed: number, width: number, height: number, type: SketchDiagramType, transparent = false): string {
  const rng = rngFrom('easel-sketch/diagram', type, prompt, String(seed));
  const hue = range(rng, 0, 360);
  const s = Math.min(width, height);
  const ink: Ink = {
    line: '#37414d',
    fill: hsl(hue, 0.45, 0.93),
    accent: hsl((hue + 35) % 360, 0.55, 0.84),
    header: hsl(hue, 0.5, 0.42),
    label: '#9aa3ad',
    sw: Math.max(1.5, s * 0.0035),
    s,
  };
  const layout = LAYOUTS[type];
  const n = nodeCount(prompt, rng, layout.n[0], layout.n[1], [layout.n[2], layout.n[3]]);
  const m = Math.max(4, ink.sw * 3);
  const defs = `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="${f1(m / ink.sw)}" markerHeight="${f1(m / ink.sw)}" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 Z" fill="${ink.line}"/></marker></defs>`;
  return defs + (transparent ? '' : `<rect width="${width}" height="${height}" fill="#ffffff"/>`) + layout.draw(width, height, n, ink, rng);
}
