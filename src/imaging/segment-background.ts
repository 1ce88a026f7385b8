/**
 * Classical background segmentation for images on a plain (or simple: two or three flat colours,
 * a soft gradient) background. No model: the background is learnt from the image border, every
 * pixel gets a colour distance to it, and the background is the border-connected region within
 * a tolerance. Quality limits, stated where users read them (README, OpenAPI): a subject that
 * touches the border over a long stretch, or shares the background colour at its edge, loses
 * those parts; background visible through holes in the subject stays; busy photographic
 * backgrounds are refused rather than guessed.
 */

export class NotSegmentable extends Error {}

/** 90th-percentile distance of border pixels to the background colours above which the border is not "plain". */
const MAX_BORDER_NOISE = 32;

export interface SegmentOptions {
  /** Colour distance (0–255) still counted as background; automatic from the border noise when absent. */
  tolerance?: number;
}

/** Distance on a 0–255 scale: the RMS of the three channel differences. */
function distance(r: number, g: number, b: number, c: readonly number[]): number {
  const dr = r - c[0]!;
  const dg = g - c[1]!;
  const db = b - c[2]!;
  return Math.sqrt((dr * dr + dg * dg + db * db) / 3);
}

/** Indices of the pixels in the outer frame, `band` pixels deep. */
function borderPixels(width: number, height: number, band: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) {
    const full = y < band || y >= height - band;
    for (let x = 0; x < width; x++) {
      if (full || x < band || x >= width - band) out.push(y * width + x);
      else if (x === band) x = width - band - 1; // skip the interior of the row
    }
  }
  return out;
}

/**
 * Up to three background colours by k-means over the border samples, seeded deterministically
 * (the median, then whichever sample is farthest from the colours so far). Colours held by less
 * than a fifth of the border are dropped: those are the subject touching the edge, not background.
 */
function backgroundColours(samples: number[][]): number[][] {
  const median = [0, 1, 2].map((k) => samples.map((s) => s[k]!).sort((a, b) => a - b)[samples.length >> 1]!);
  const centres = [median];
  while (centres.length < 3) {
    let far = -1;
    let farD = 0;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      const d = Math.min(...centres.map((c) => distance(s[0]!, s[1]!, s[2]!, c)));
      if (d > farD) [far, farD] = [i, d];
    }
    if (farD < 24) break;
    centres.push([...samples[far]!]);
  }
  let counts = new Array<number>(centres.length).fill(0);
  for (let iter = 0; iter < 10; iter++) {
    const sums = centres.map(() => [0, 0, 0]);
    counts = counts.map(() => 0);
    for (const s of samples) {
      let best = 0;
      for (let k = 1; k < centres.length; k++) if (distance(s[0]!, s[1]!, s[2]!, centres[k]!) < distance(s[0]!, s[1]!, s[2]!, centres[best]!)) best = k;
      counts[best]!++;
      for (let c = 0; c < 3; c++) sums[best]![c]! += s[c]!;
    }
    for (let k = 0; k < centres.length; k++) if (counts[k]! > 0) centres[k] = sums[k]!.map((v) => v / counts[k]!);
  }
  const kept = centres.filter((_, k) => counts[k]! >= samples.length * 0.2);
  return kept.length > 0 ? kept : [median];
}

/** 3×3 erosion (all neighbours set) or dilation (any set) of a 0/1 mask, separably. */
function morph(mask: Uint8Array, width: number, height: number, erode: boolean): Uint8Array {
  const pass = (src: Uint8Array, step: number, len: number, lines: number, lineStep: number) => {
    const out = new Uint8Array(src.length);
    for (let l = 0; l < lines; l++) {
      const base = l * lineStep;
      for (let i = 0; i < len; i++) {
        const at = base + i * step;
        const a = src[i > 0 ? at - step : at]!;
        const b = src[at]!;
        const c = src[i < len - 1 ? at + step : at]!;
        out[at] = erode ? a & b & c : a | b | c;
      }
    }
    return out;
  };
  return pass(pass(mask, 1, width, height, width), width, height, width, 1);
}

/**
 * Returns the foreground mask (255 = keep, 0 = background) of an 8-bit RGB or RGBA image.
 * Already transparent pixels count as background. Throws NotSegmentable when the border is not
 * a background this method can model.
 */
export function segmentBackground(px: Uint8Array, width: number, height: number, channels: 3 | 4, opts: SegmentOptions = {}): Uint8Array {
  const n = width * height;
  const clear = (i: number) => channels === 4 && px[i * 4 + 3]! < 16;
  const band = Math.max(1, Math.min(4, Math.round(Math.min(width, height) * 0.01)));
  const border = borderPixels(width, height, band);
  const opaque = border.filter((i) => !clear(i)).map((i) => [px[i * channels]!, px[i * channels + 1]!, px[i * channels + 2]!]);
  const colours = opaque.length > 0 ? backgroundColours(opaque) : [];

  const dist = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (clear(i)) continue; // transparent already: background
    if (colours.length === 0) {
      dist[i] = 255; // an all-transparent border: only transparent pixels are background
      continue;
    }
    const o = i * channels;
    let d = 255;
    for (const c of colours) d = Math.min(d, distance(px[o]!, px[o + 1]!, px[o + 2]!, c));
    dist[i] = Math.round(d);
  }
  const borderD = border.map((i) => dist[i]!).sort((a, b) => a - b);
  const noise = borderD[Math.floor(borderD.length * 0.9)] ?? 0;
  // Auto tolerance: twice the border's own noise above a floor for anti-aliasing, capped so a
  // noisy border cannot swallow the subject.
  const tolerance = opts.tolerance ?? Math.min(64, Math.max(16, 2 * noise + 12));
  // A border this noisy is a photograph or a pattern, not a background we can model.
  if (opts.tolerance === undefined && noise > MAX_BORDER_NOISE) throw new NotSegmentable('the image border is not a plain background');
  const covered = borderD.filter((d) => d <= tolerance).length / Math.max(1, borderD.length);
  if (covered < 0.5) throw new NotSegmentable('the image border is not a plain background');

  // Flood fill from the outermost frame through pixels close to a background colour.
  const bg = new Uint8Array(n);
  const queue = new Int32Array(n);
  let head = 0;
  let tail = 0;
  for (const i of borderPixels(width, height, 1)) {
    if (dist[i]! <= tolerance && !bg[i]) {
      bg[i] = 1;
      queue[tail++] = i;
    }
  }
  while (head < tail) {
    const i = queue[head++]!;
    const x = i % width;
    const visit = (j: number) => {
      if (!bg[j] && dist[j]! <= tolerance) {
        bg[j] = 1;
        queue[tail++] = j;
      }
    };
    if (x > 0) visit(i - 1);
    if (x < width - 1) visit(i + 1);
    if (i >= width) visit(i - width);
    if (i < n - width) visit(i + width);
  }

  // Opening removes specks of noise left on the background; closing fills pinholes in the subject.
  let fg: Uint8Array = new Uint8Array(n);
  for (let i = 0; i < n; i++) fg[i] = bg[i] ? 0 : 1;
  fg = morph(morph(fg, width, height, true), width, height, false);
  fg = morph(morph(fg, width, height, false), width, height, true);
  for (let i = 0; i < n; i++) fg[i] = fg[i] ? 255 : 0;
  return fg;
}
