import { createHash } from 'node:crypto';
import { SIGNATURE_PALETTE, type Rgb } from './palette.js';

/** The flat colours a figure is painted in, top to bottom: head, body, legs. */
export interface FigureSignature {
  colors: [number, number, number][];
}

/**
 * Maps a figure key ("name" or "name#state") to an ordered triple of distinct palette colours.
 * It depends on the key alone, so the same character looks the same in every scene and in its
 * portrait, which is what makes story consistency checkable in pixels.
 *
 * 36 palette colours give 36*35*34 = 42,840 ordered triples. Two given keys share a
 * signature with probability 1/42,840; among n keys the chance of any clash is about
 * n(n-1)/2 / 42,840: 0.1% for 10 keys, 2.9% for 50 (10 characters x 5 states).
 * hasFigure checks the order too (head over body over legs), so keys that merely share
 * the same three colours in another order are still told apart.
 */
export function figureSignature(key: string): FigureSignature {
  const digest = createHash('sha256').update('easel-sketch/figure\0').update(key).digest();
  // 48 bits taken mixed-radix; the modulo bias over 42,840 outcomes is below 1e-9.
  let n = digest.readUIntBE(0, 6);
  const free = SIGNATURE_PALETTE.map((_, i) => i);
  const colors: Rgb[] = [];
  for (let k = 0; k < 3; k++) {
    const at = n % free.length;
    n = Math.floor(n / free.length);
    const [idx] = free.splice(at, 1);
    colors.push([...(SIGNATURE_PALETTE[idx as number] as Rgb)]);
  }
  return { colors };
}
