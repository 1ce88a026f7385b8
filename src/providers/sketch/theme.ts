import { pick, range, type Rng } from './prng.js';

/** The broad look of a scene. Hues are degrees; every colour still goes through muted(). */
export interface Theme {
  name: string;
  skyHue: number;
  groundHue: number;
  celestial: 'sun' | 'moon' | 'none';
  props: readonly Prop[];
  water: boolean;
  stars: boolean;
  skyLight: number; // 0..1; "night" is only dimmer, never dark enough to meet a signature colour
}

export type Prop = 'tree' | 'pine' | 'house' | 'rock' | 'flower' | 'cactus';

const THEMES: Record<string, Omit<Theme, 'skyHue' | 'groundHue'> & { sky: [number, number]; ground: [number, number] }> = {
  meadow: { name: 'meadow', sky: [190, 220], ground: [80, 120], celestial: 'sun', props: ['tree', 'flower', 'rock'], water: false, stars: false, skyLight: 0.82 },
  forest: { name: 'forest', sky: [170, 210], ground: [90, 140], celestial: 'none', props: ['pine', 'tree', 'pine'], water: false, stars: false, skyLight: 0.8 },
  sea: { name: 'sea', sky: [185, 215], ground: [35, 50], celestial: 'sun', props: ['rock'], water: true, stars: false, skyLight: 0.84 },
  city: { name: 'city', sky: [200, 240], ground: [20, 60], celestial: 'sun', props: ['house', 'house', 'tree'], water: false, stars: false, skyLight: 0.8 },
  night: { name: 'night', sky: [215, 260], ground: [200, 250], celestial: 'moon', props: ['house', 'pine', 'rock'], water: false, stars: true, skyLight: 0.5 },
  desert: { name: 'desert', sky: [20, 50], ground: [30, 45], celestial: 'sun', props: ['cactus', 'rock'], water: false, stars: false, skyLight: 0.85 },
  snow: { name: 'snow', sky: [190, 230], ground: [190, 220], celestial: 'none', props: ['pine', 'rock', 'house'], water: false, stars: false, skyLight: 0.88 },
};

// First keyword found in the prompt wins, so "a boat at night" is a sea scene.
const KEYWORDS: [RegExp, string][] = [
  [/\b(sea|ocean|beach|lake|river|water|waves?|harbou?r|boat|ship|island)\b/i, 'sea'],
  [/\b(forest|woods?|jungle|trees?)\b/i, 'forest'],
  [/\b(city|town|street|houses?|buildings?|village|castle)\b/i, 'city'],
  [/\b(night|moon|stars?|midnight|evening)\b/i, 'night'],
  [/\b(desert|sand|dunes?|cactus)\b/i, 'desert'],
  [/\b(snow|winter|ice|frozen|mountains?)\b/i, 'snow'],
  [/\b(meadow|field|garden|park|flowers?|grass)\b/i, 'meadow'],
];

/** Prompt words pick the theme where they can; the hash decides otherwise and tints every hue. */
export function chooseTheme(prompt: string, rng: Rng): Theme {
  let best: { at: number; name: string } | null = null;
  for (const [re, name] of KEYWORDS) {
    const m = re.exec(prompt);
    if (m && (best === null || m.index < best.at)) best = { at: m.index, name };
  }
  const base = THEMES[best?.name ?? pick(rng, Object.keys(THEMES))] ?? THEMES.meadow!;
  const { sky, ground, ...rest } = base;
  return { ...rest, skyHue: range(rng, sky[0], sky[1]) % 360, groundHue: range(rng, ground[0], ground[1]) % 360 };
}
