import sharp, { type OverlayOptions } from 'sharp';
import { f1, flatPalette, hsl } from './flat.js';
import { int, pick, range, rngFrom } from './prng.js';
import type { SketchStyle } from './styled.js';
import { knockOutBackground } from '../../imaging/transparency.js';

export interface SketchEditInput {
  image: Buffer;
  instruction: string;
  seed: number;
  width: number;
  height: number;
  style?: SketchStyle;
  /** Graphics: make the surroundings transparent (as "remove the background" does). */
  transparent?: boolean;
}

/** Instruction words the offline editor understands, each a deterministic pixel operation. */
const OPERATIONS: { re: RegExp; op: string }[] = [
  { re: /\b(black and white|black-and-white|gr[ae]y\s?scale|monochrome|desaturate)\b/i, op: 'grayscale' },
  { re: /\b(warm(er)?|sunset|golden|orange)\b/i, op: 'warm' },
  { re: /\b(cool(er)?|cold(er)?|blue|icy)\b/i, op: 'cool' },
  { re: /\b(dark(er|en)?|night|dim(mer)?)\b/i, op: 'darker' },
  { re: /\b(bright(er|en)?|light(er|en)?)\b/i, op: 'brighter' },
  { re: /\b(vivid|saturat\w*|colou?rful|punch(y|ier))\b/i, op: 'vivid' },
  { re: /\b(blur(red|ry)?|soft(en|er)?|dreamy)\b/i, op: 'blur' },
  { re: /\b(sharpen|crisp(er)?)\b/i, op: 'sharpen' },
  { re: /\b(flip|mirror)\b/i, op: 'flip' },
  { re: /\b(remove|transparent|cut ?out)\b.*\bbackground\b|\bbackground\b.*\btransparent\b/i, op: 'cutout' },
];

/** Which operations an instruction asks for, in a fixed order so the result never depends on word order. */
export function editOperations(instruction: string): string[] {
  return OPERATIONS.filter((o) => o.re.test(instruction)).map((o) => o.op);
}

/**
 * The offline renderer's edit: the input, fitted to the requested frame (cropped to fill for
 * images, letterboxed for graphics and diagrams), then changed as the instruction says.
 * Recognised words map to pixel operations (warmer, cooler, darker, brighter, vivid, black and
 * white, blur, sharpen, flip, remove the background); anything else — and every "add …" — is
 * drawn as an overlay derived from the instruction's hash: a flat motif for images and graphics,
 * a new box and connector for diagrams. Same input, instruction and seed give the same pixels.
 */
export async function renderSketchEdit(input: SketchEditInput): Promise<Buffer> {
  const { width, height, instruction, seed } = input;
  const style = input.style ?? 'image';
  const ops = editOperations(instruction);
  const flat = style !== 'image';
  const background = style === 'diagram' ? '#ffffff' : { r: 0, g: 0, b: 0, alpha: 0 };
  let img = sharp(input.image).autoOrient().resize(width, height, flat ? { fit: 'contain', background } : { fit: 'cover', position: 'attention' });
  if (ops.includes('flip')) img = img.flop();
  if (ops.includes('grayscale')) img = img.grayscale();
  if (ops.includes('blur')) img = img.blur(Math.max(1, Math.min(width, height) / 300));
  if (ops.includes('sharpen')) img = img.sharpen({ sigma: 1.5 });
  const brightness = (ops.includes('darker') ? 0.72 : 1) * (ops.includes('brighter') ? 1.25 : 1);
  const saturation = ops.includes('vivid') ? 1.5 : 1;
  if (brightness !== 1 || saturation !== 1) img = img.modulate({ brightness, saturation });
  let base: Buffer = await img.ensureAlpha().png().toBuffer();

  const overlays: OverlayOptions[] = [];
  const tint = ops.includes('warm') ? '#ff8c1a' : ops.includes('cool') ? '#1a73ff' : null;
  if (tint) overlays.push({ input: Buffer.from(svgFrame(width, height, `<rect width="${width}" height="${height}" fill="${tint}" opacity="0.22"/>`)), blend: 'atop' });
  if (ops.length === 0 || /\badd(s|ing)?\b|\binsert\b|\binclude\b/i.test(instruction)) {
    overlays.push({ input: Buffer.from(svgFrame(width, height, style === 'diagram' ? addedNode(instruction, seed, width, height) : motif(instruction, seed, width, height))), blend: 'over' });
  }
  if (overlays.length > 0) base = await sharp(base).composite(overlays).png().toBuffer();
  if (ops.includes('cutout') || input.transparent) base = await knockOutBackground(base);
  const keepAlpha = ops.includes('cutout') || input.transparent || (style === 'graphic' && (await hasTransparency(base)));
  const out = sharp(base);
  return (keepAlpha ? out : out.flatten({ background: '#ffffff' })).png({ compressionLevel: 6 }).toBuffer();
}

const svgFrame = (w: number, h: number, body: string) =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" shape-rendering="geometricPrecision">${body}</svg>`;

/** A small flat composition standing for "what the instruction adds", placed in a seeded corner region. */
function motif(instruction: string, seed: number, w: number, h: number): string {
  const rng = rngFrom('easel-sketch/edit', instruction, String(seed));
  const p = flatPalette(rng);
  const s = Math.min(w, h);
  const cx = w * pick(rng, [0.25, 0.5, 0.75]);
  const cy = h * pick(rng, [0.3, 0.55, 0.72]);
  const r = s * range(rng, 0.1, 0.16);
  const parts = [`<circle cx="${f1(cx)}" cy="${f1(cy)}" r="${f1(r)}" fill="${p.primary}"/>`];
  for (let i = int(rng, 2, 4); i > 0; i--) {
    const a = range(rng, 0, 2 * Math.PI);
    const d = r * range(rng, 0.9, 1.4);
    const rr = r * range(rng, 0.25, 0.45);
    parts.push(
      rng() < 0.5
        ? `<circle cx="${f1(cx + d * Math.cos(a))}" cy="${f1(cy + d * Math.sin(a))}" r="${f1(rr)}" fill="${pick(rng, [p.secondary, p.dark, p.light])}"/>`
        : `<rect x="${f1(cx + d * Math.cos(a) - rr)}" y="${f1(cy + d * Math.sin(a) - rr)}" width="${f1(2 * rr)}" height="${f1(2 * rr)}" rx="${f1(rr * 0.3)}" fill="${pick(rng, [p.secondary, p.dark, p.light])}"/>`,
    );
  }
  return parts.join('');
}

/** Diagram edits ("add a step", "connect …"): one new box and a connector from the diagram's centre. */
function addedNode(instruction: string, seed: number, w: number, h: number): string {
  const rng = rngFrom('easel-sketch/edit-diagram', instruction, String(seed));
  const s = Math.min(w, h);
  const bw = w * 0.18;
  const bh = h * 0.1;
  const x = w * pick(rng, [0.06, 0.76]);
  const y = h * pick(rng, [0.06, 0.84]);
  const sw = Math.max(1.5, s * 0.0035);
  const fill = hsl(range(rng, 0, 360), 0.6, 0.82);
  const tx = x + bw / 2 < w / 2 ? x + bw : x;
  const ty = y + bh / 2;
  return (
    `<line x1="${f1(w / 2)}" y1="${f1(h / 2)}" x2="${f1(tx)}" y2="${f1(ty)}" stroke="#37414d" stroke-width="${f1(sw)}" stroke-dasharray="${f1(sw * 4)},${f1(sw * 3)}"/>` +
    `<rect x="${f1(x)}" y="${f1(y)}" width="${f1(bw)}" height="${f1(bh)}" rx="${f1(s * 0.012)}" fill="${fill}" stroke="#37414d" stroke-width="${f1(sw)}"/>` +
    `<rect x="${f1(x + bw * 0.2)}" y="${f1(y + bh * 0.42)}" width="${f1(bw * 0.6)}" height="${f1(bh * 0.16)}" rx="1" fill="#37414d"/>`
  );
}

async function hasTransparency(png: Buffer): Promise<boolean> {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  for (let i = info.channels - 1; i < data.length; i += info.channels) if (data[i]! < 250) return true;
  return false;
}
