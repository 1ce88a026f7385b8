import { createHash } from 'node:crypto';
import { SIGNATURE_PALETTE, type Rgb } from './palette.js';

/** The flat colours a figure is painted in, top to bottom: hair, clothes (body), legs. */
export interface FigureSignature {
  colors: [number, number, number][];
}

/** Hue words an appearance may use, as palette hue steps (30 degrees each) and value rows (0 bright, 1 mid, 2 dark). */
const HUES: Record<string, [number, number]> = {
  red: [0, 0], crimson: [0, 1], scarlet: [0, 0], maroon: [0, 2], orange: [1, 0], copper: [1, 1], ginger: [1, 0], auburn: [1, 1],
  brown: [1, 2], chestnut: [1, 2], tan: [1, 1], gold: [2, 0], golden: [2, 0], yellow: [2, 0], blond: [2, 0], blonde: [2, 0],
  olive: [2, 2], lime: [3, 0], green: [4, 0], emerald: [4, 1], forest: [4, 2], teal: [6, 1], turquoise: [6, 0], cyan: [6, 0],
  azure: [7, 0], blue: [8, 0], navy: [8, 2], indigo: [9, 1], purple: [9, 0], violet: [9, 0], lilac: [10, 0], magenta: [10, 0],
  pink: [11, 0], rose: [11, 0],
};
const HAIR = /^(hair|haired|beard|bearded|curls|braids?|ponytail|mane|fringe)$/;

const BODY = /^(coat|raincoat|overcoat|jacket|shirt|t-shirt|dress|gown|sweater|jumper|robe|cloak|cape|tunic|hoodie|uniform|overalls|vest|blouse|suit|parka|oilskin|apron|kimono|top|cardigan|blazer)s?$/;
const LEGS = /^(trousers|pants|jeans|skirt|shorts|leggings|boots|breeches|tights)$/;
const ACCESSORY = /^(scarf|hat|cap|beret|helmet|umbrella|gloves?|shoes|glasses|goggles|bag|backpack|satchel|tie|bow|ribbon|belt|badge|bandana|flower|book|map|lantern|eyes?)$/;

/**
 * Colour words of an appearance, by what they colour (the first noun within two words after the
 * colour decides): hair ("copper hair", "blond"), clothes ("a yellow raincoat"), legs ("blue
 * jeans"); colours of accessories ("a blue scarf") colour no part of the figure. A colour
 * before no known noun counts as clothes.
 */
export function appearanceColours(appearance: string): { hair: number | null; clothes: number[]; legs: number | null } {
  const words = appearance.toLowerCase().split(/[^a-z]+/).filter(Boolean);
  let hair: number | null = null;
  let legs: number | null = null;
  const clothes: number[] = [];
  words.forEach((w, i) => {
    const h = HUES[w];
    if (!h) return;
    const idx = h[1] * 12 + h[0];
    if (w === 'blond' || w === 'blonde' || w === 'ginger' || w === 'auburn') return void (hair = idx);
    const noun = words.slice(i + 1, i + 3).find((x) => HAIR.test(x) || BODY.test(x) || LEGS.test(x) || ACCESSORY.test(x)) ?? '';
    if (HAIR.test(noun)) hair = idx;
    else if (LEGS.test(noun)) legs = idx;
    else if (!ACCESSORY.test(noun)) clothes.push(idx);
  });
  return { hair, clothes, legs };
}

/**
 * Maps a figure (key "name" or "name#state", plus its appearance) to an ordered triple of
 * distinct palette colours: hair, clothes, legs. The appearance's colour words choose what they
 * name ("copper hair" the hair; the last clothing colour, e.g. "a yellow raincoat", the clothes;
 * "blue jeans", else an earlier clothing colour, the legs; an accessory's colour, e.g. "a blue
 * scarf", nothing); the key's hash fills the rest. It depends on key and appearance
 * alone, and a story sends a character's appearance with every scene, so the same character
 * looks the same in every scene and in its portrait: story consistency is checkable in pixels.
 *
 * With no colour words, 36*35*34 = 42,840 ordered triples: two keys share one with probability
 * 1/42,840. hasFigure checks the order too (hair over clothes over legs).
 */
export function figureSignature(key: string, appearance = ''): FigureSignature {
  const digest = createHash('sha256').update('easel-sketch/figure\0').update(key).digest();
  // 48 bits taken mixed-radix; the modulo bias over 42,840 outcomes is below 1e-9.
  let n = digest.readUIntBE(0, 6);
  const wanted = appearanceColours(appearance);
  const clothes = wanted.clothes.length > 0 ? wanted.clothes[wanted.clothes.length - 1]! : null;
  const legs = wanted.legs ?? (wanted.clothes.length > 1 ? wanted.clothes[wanted.clothes.length - 2]! : null);
  const chosen: (number | null)[] = [wanted.hair, clothes, legs];
  // Distinct colours: a later slot asking for a taken colour falls back to the hash.
  for (let k = 0; k < 3; k++) if (chosen[k] !== null && chosen.indexOf(chosen[k]!) < k) chosen[k] = null;
  const free = SIGNATURE_PALETTE.map((_, i) => i).filter((i) => !chosen.includes(i));
  const colors: Rgb[] = [];
  for (let k = 0; k < 3; k++) {
    let idx = chosen[k];
    if (idx === null || idx === undefined) {
      const at = n % free.length;
      n = Math.floor(n / free.length);
      idx = free.splice(at, 1)[0]!;
    }
    colors.push([...(SIGNATURE_PALETTE[idx] as Rgb)]);
  }
  return { colors };
}
