import sharp from 'sharp';
import type { FigureSignature } from './signature.js';

/** Euclidean RGB slack: absorbs JPEG/WebP error in flat areas, far below palette spacing (~62). */
const DEFAULT_TOLERANCE = 12;
/** Unmatched pixels allowed between head/body/legs runs: lossy codecs smear a few pixels at each edge. */
const MAX_SEAM = 8;
/** A run shorter than this is treated as noise. */
const MIN_RUN = 2;
/** Columns that must show the full head-over-body-over-legs stack. */
const MIN_STACK_COLUMNS = 3;

interface Labelled {
  labels: Int8Array; // -1: no signature colour, else index into sig.colors
  width: number;
  height: number;
}

async function label(png: Buffer, sig: FigureSignature, tolerance: number): Promise<Labelled> {
  const { data, info } = await sharp(png).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  const px = info.width * info.height;
  const labels = new Int8Array(px).fill(-1);
  const tol2 = tolerance * tolerance;
  const ch = info.channels;
  for (let p = 0, o = 0; p < px; p++, o += ch) {
    const r = data[o] as number;
    const g = data[o + 1] as number;
    const b = data[o + 2] as number;
    for (let k = 0; k < sig.colors.length; k++) {
      const c = sig.colors[k] as [number, number, number];
      const dr = r - c[0];
      const dg = g - c[1];
      const db = b - c[2];
      if (dr * dr + dg * dg + db * db <= tol2) {
        labels[p] = k;
        break;
      }
    }
  }
  return { labels, width: info.width, height: info.height };
}

function coverage({ labels }: Labelled, n: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (const l of labels) if (l >= 0) counts[l] = (counts[l] as number) + 1;
  return counts.map((c) => c / labels.length);
}

/** Fraction of pixels (0..1) within `tolerance` (euclidean RGB) of each signature colour. */
export async function signatureCoverage(png: Buffer, sig: FigureSignature, tolerance = DEFAULT_TOLERANCE): Promise<number[]> {
  return coverage(await label(png, sig, tolerance), sig.colors.length);
}

/**
 * True when every signature colour covers >= minFraction of the image AND the colours appear
 * stacked in signature order (head directly over body directly over legs) in some columns.
 * The stacking test matters in crowded scenes: the union of other figures' colours can
 * contain all three of an absent figure's colours, but not as one contiguous figure.
 */
export async function hasFigure(png: Buffer, sig: FigureSignature, minFraction = 0.002): Promise<boolean> {
  const img = await label(png, sig, DEFAULT_TOLERANCE);
  if (coverage(img, sig.colors.length).some((f) => f < minFraction)) return false;
  return stackedColumns(img, sig.colors.length) >= MIN_STACK_COLUMNS;
}

interface Run {
  label: number;
  start: number;
  end: number; // exclusive
}

function stackedColumns({ labels, width, height }: Labelled, n: number): number {
  let hits = 0;
  for (let x = 0; x < width; x++) {
    const runs: Run[] = [];
    let cur: Run | null = null;
    for (let y = 0; y < height; y++) {
      const l = labels[y * width + x] as number;
      if (cur && cur.label === l && cur.end === y) {
        cur.end = y + 1;
      } else if (l >= 0) {
        cur = { label: l, start: y, end: y + 1 };
        runs.push(cur);
      }
    }
    if (hasOrderedStack(mergeRuns(runs), n)) hits++;
  }
  return hits;
}

/** Drops specks, then joins same-colour runs split by codec noise. */
function mergeRuns(runs: Run[]): Run[] {
  const out: Run[] = [];
  for (const r of runs) {
    if (r.end - r.start < MIN_RUN) continue;
    const last = out[out.length - 1];
    if (last && last.label === r.label && r.start - last.end <= MAX_SEAM) last.end = r.end;
    else out.push({ ...r });
  }
  return out;
}

function hasOrderedStack(runs: Run[], n: number): boolean {
  for (let i = 0; i + n <= runs.length; i++) {
    let ok = true;
    for (let k = 0; k < n && ok; k++) {
      const r = runs[i + k] as Run;
      const prev = runs[i + k - 1];
      ok = r.label === k && (k === 0 || (prev !== undefined && r.start - prev.end <= MAX_SEAM));
    }
    if (ok) return true;
  }
  return false;
}
