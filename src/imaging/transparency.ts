import sharp from 'sharp';

/** Colour distance (euclidean RGB) within which a pixel counts as background. */
const TOLERANCE = 42;

/**
 * Makes the background of a graphic transparent: the colour most common along the border is
 * taken as the background, and every pixel connected to the border through colours within
 * TOLERANCE of it becomes fully transparent (a flood fill, so the same colour inside a closed
 * shape survives). An image whose border is already transparent is returned unchanged: the
 * model did the job. Used when `transparent_background` is asked of a model that painted a
 * plain backdrop anyway, and by the offline editor's "remove the background".
 */
export async function knockOutBackground(input: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(input).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  const { width: w, height: h } = info;
  const px = (i: number) => i * 4;
  const border: number[] = [];
  for (let x = 0; x < w; x++) border.push(x, (h - 1) * w + x);
  for (let y = 1; y < h - 1; y++) border.push(y * w, y * w + w - 1);
  let transparent = 0;
  const buckets = new Map<number, { n: number; r: number; g: number; b: number }>();
  for (const i of border) {
    const p = px(i);
    if (data[p + 3]! < 128) {
      transparent++;
      continue;
    }
    const k = ((data[p]! >> 4) << 8) | ((data[p + 1]! >> 4) << 4) | (data[p + 2]! >> 4);
    const e = buckets.get(k) ?? { n: 0, r: 0, g: 0, b: 0 };
    e.n++;
    e.r += data[p]!;
    e.g += data[p + 1]!;
    e.b += data[p + 2]!;
    buckets.set(k, e);
  }
  if (transparent > border.length / 2 || buckets.size === 0) return sharp(data, { raw: { width: w, height: h, channels: 4 } }).png().toBuffer();
  const top = [...buckets.values()].reduce((a, b) => (b.n > a.n ? b : a));
  const bg = [top.r / top.n, top.g / top.n, top.b / top.n];
  const near = (i: number) => {
    const p = px(i);
    return Math.hypot(data[p]! - bg[0]!, data[p + 1]! - bg[1]!, data[p + 2]! - bg[2]!) <= TOLERANCE;
  };
  const seen = new Uint8Array(w * h);
  const stack: number[] = [];
  for (const i of border) if (!seen[i] && near(i)) (seen[i] = 1), stack.push(i);
  while (stack.length > 0) {
    const i = stack.pop()!;
    data[px(i) + 3] = 0;
    const x = i % w;
    const y = (i - x) / w;
    const next = [x > 0 ? i - 1 : -1, x < w - 1 ? i + 1 : -1, y > 0 ? i - w : -1, y < h - 1 ? i + w : -1];
    for (const j of next) if (j >= 0 && !seen[j] && near(j)) (seen[j] = 1), stack.push(j);
  }
  return sharp(data, { raw: { width: w, height: h, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** True when at least `minShare` of the pixels are (nearly) fully transparent. */
export async function hasTransparentArea(input: Buffer, minShare = 0.01): Promise<boolean> {
  const { data, info } = await sharp(input).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i]! < 16) n++;
  return n / (info.width * info.height) >= minShare;
}
