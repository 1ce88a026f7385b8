import { createHash } from 'node:crypto';

/** A source of floats in [0, 1). */
export type Rng = () => number;

/**
 * sfc32 seeded from SHA-256 of the labelled parts. A cryptographic hash for the seed means
 * one changed character in a prompt reshuffles everything; sfc32 itself is tiny and fast,
 * and unlike Math.random it is reproducible across processes and Node versions.
 */
export function rngFrom(...parts: string[]): Rng {
  const h = createHash('sha256');
  // NUL-separated so ("ab","c") and ("a","bc") seed different streams.
  for (const p of parts) h.update(p).update('\0');
  const d = h.digest();
  let a = d.readUInt32LE(0);
  let b = d.readUInt32LE(4);
  let c = d.readUInt32LE(8);
  let n = d.readUInt32LE(12);
  const next: Rng = () => {
    const t = (((a + b) | 0) + n) | 0;
    n = (n + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  // sfc32 needs a few rounds before its state is well mixed.
  for (let i = 0; i < 12; i++) next();
  return next;
}

export const range = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng();
export const int = (rng: Rng, lo: number, hi: number): number => Math.floor(range(rng, lo, hi + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)] as T;
