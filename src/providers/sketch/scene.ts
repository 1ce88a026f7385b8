import { DECORATION_MIN_CHANNEL, hex, type Rgb } from './palette.js';
import { pictogramSvg, type Tint } from './pictograms.js';
import { int, pick, range, type Rng } from './prng.js';
import type { Place, ReadPrompt, TimeOfDay, Weather } from './lexicon.js';

const f1 = (n: number) => n.toFixed(1);

/** A pictogram the renderer put in the picture, and where (pixels; the icon's square box). */
export interface Placed {
  word: string;
  icon: string;
  colour: string | null;
  x: number;
  y: number;
  size: number;
}

export interface Scenery {
  /** Everything behind the subjects: sky, weather, place. */
  background: string;
  /** The named subjects (omitted by tests that compare a picture with its empty scene). */
  subjects: string;
  /** Drawn over everything but the figures: rain, snow, fog. */
  overlay: string;
  shadow: Rgb;
  placed: Placed[];
  /** Where the ground starts (0..height). */
  horizon: number;
}

const safe = (c: Rgb): Rgb => c.map((v) => Math.max(DECORATION_MIN_CHANNEL, Math.min(255, Math.round(v)))) as Rgb;
const mix = (a: Rgb, b: Rgb, t: number): Rgb => a.map((v, i) => v + ((b[i] as number) - v) * t) as Rgb;

const SKY: Record<TimeOfDay, [Rgb, Rgb]> = {
  day: [[104, 166, 232], [198, 226, 250]],
  dawn: [[140, 150, 214], [255, 204, 162]],
  dusk: [[88, 74, 146], [250, 146, 98]],
  night: [[64, 70, 124], [84, 96, 156]],
};
const WEATHER_SKY: Partial<Record<Weather, [Rgb, Rgb]>> = {
  storm: [[72, 76, 92], [126, 130, 146]],
  rain: [[124, 134, 150], [172, 180, 192]],
  snow: [[178, 188, 204], [226, 231, 240]],
  fog: [[196, 198, 204], [224, 224, 228]],
  cloudy: [[150, 166, 186], [206, 214, 224]],
};
const GROUND: Record<Place, [Rgb, Rgb]> = {
  meadow: [[140, 196, 104], [96, 160, 76]],
  forest: [[98, 150, 90], [72, 124, 70]],
  sea: [[72, 136, 196], [46, 104, 170]],
  city: [[170, 170, 176], [128, 128, 136]],
  desert: [[238, 210, 150], [220, 180, 116]],
  mountains: [[132, 170, 110], [100, 140, 86]],
  indoors: [[176, 132, 96], [150, 108, 78]],
  snowfield: [[244, 246, 252], [214, 222, 236]],
};

/** Things that belong in the sky, whatever the setting. */
const AIRBORNE = new Set(['bird', 'dove', 'eagle', 'airplane', 'helicopter', 'kite', 'balloon', 'rocket', 'dragon', 'butterfly', 'bat', 'crescent-moon', 'sun', 'glowing-star', 'rainbow', 'cloud', 'parrot', 'owl', 'honeybee', 'ufo', 'flying-saucer']);
/** Where on a support its rider sits, as a share of the support's height from its top. */
const SEAT: Record<string, number> = { 'couch-and-lamp': 0.5, bed: 0.45, cliff: 0.22, chair: 0.45, 'desert-island': 0.35, 'snow-capped-mountain': 0.25, volcano: 0.3, tent: 0.2 };

/**
 * Composes the picture a prompt describes: the sky of its time of day and weather, its place
 * (sea, city, forest, desert, mountains, indoors, meadow, snow) with that place's own
 * pictograms, and every named subject as a large pictogram in front, tinted by its colour
 * word. The rng decides only jitter (positions, counts of scenery props), never what is shown.
 */
export function composeScene(read: ReadPrompt, rng: Rng, subjectRng: Rng, width: number, height: number, figureBoxes: readonly Rect[] = []): Scenery {
  const withFigures = figureBoxes.length > 0;
  const s = Math.min(width, height);
  const { time, weather, place } = read;
  const indoors = place === 'indoors';
  const horizon = height * (indoors ? 0.68 : place === 'sea' ? range(rng, 0.5, 0.56) : range(rng, 0.56, 0.64));
  const night = time === 'night';
  let uid = 0;
  const id = () => `p${uid++}`;

  // Sky: time of day, then weather laid over it.
  let [skyTop, skyLow] = SKY[time];
  const w = WEATHER_SKY[weather];
  if (w) {
    const k = time === 'day' ? 0.85 : 0.55;
    skyTop = mix(skyTop, w[0], k);
    skyLow = mix(skyLow, w[1], k);
  }
  const sky = [safe(skyTop), safe(skyLow)] as const;
  let [gFar, gNear] = GROUND[weather === 'snow' && place !== 'sea' && !indoors ? 'snowfield' : place];
  if (night) { gFar = mix(gFar, [40, 44, 80], 0.55); gNear = mix(gNear, [40, 44, 80], 0.55); }
  if (time === 'dusk' || time === 'dawn') { gFar = mix(gFar, [240, 150, 110], 0.2); gNear = mix(gNear, [200, 120, 100], 0.2); }
  const nightTint: Tint | null = null;

  const bg: string[] = [
    `<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(sky[0])}"/><stop offset="1" stop-color="${hex(sky[1])}"/></linearGradient>` +
      `<linearGradient id="ground" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(safe(gFar))}"/><stop offset="1" stop-color="${hex(safe(gNear))}"/></linearGradient></defs>`,
  ];
  // Indoors, the sky shows through a window in the wall.
  const skyRect = indoors
    ? { x: width * range(rng, 0.08, 0.18), y: height * 0.1, w: width * 0.3, h: horizon * 0.55 }
    : { x: 0, y: 0, w: width, h: horizon + 1 };
  if (indoors) {
    const wall = safe(night ? [150, 140, 170] : [236, 222, 196]);
    bg.push(`<rect width="${width}" height="${height}" fill="${hex(wall)}"/>`);
    bg.push(`<rect x="${f1(skyRect.x - s * 0.015)}" y="${f1(skyRect.y - s * 0.015)}" width="${f1(skyRect.w + s * 0.03)}" height="${f1(skyRect.h + s * 0.03)}" fill="${hex(safe([120, 90, 70]))}"/>`);
  }
  bg.push(`<rect x="${f1(skyRect.x)}" y="${f1(skyRect.y)}" width="${f1(skyRect.w)}" height="${f1(skyRect.h)}" fill="url(#sky)"/>`);
  const inSky = (fx: number, fy: number) => ({ x: skyRect.x + skyRect.w * fx, y: skyRect.y + skyRect.h * fy });
  const skyS = Math.min(skyRect.w, skyRect.h * 1.6);

  // Sun, moon, stars.
  if (night) {
    for (let i = int(rng, 25, 60); i > 0; i--) {
      const p = inSky(rng(), rng() * 0.8);
      bg.push(`<circle cx="${f1(p.x)}" cy="${f1(p.y)}" r="${f1(Math.max(0.8, s * range(rng, 0.002, 0.005)))}" fill="#f4f0d8"/>`);
    }
    if (weather === 'clear' || weather === 'cloudy') {
      const p = inSky(range(rng, 0.6, 0.85), 0.08);
      bg.push(pictogramSvg('crescent-moon', p.x, p.y, skyS * 0.16, null, id()));
    }
  } else if (time === 'dawn' || time === 'dusk') {
    if (weather !== 'storm' && weather !== 'fog') {
      const sz = skyS * 0.26;
      const p = inSky(range(rng, 0.25, 0.75), 1);
      bg.push(`<circle cx="${f1(p.x)}" cy="${f1(p.y)}" r="${f1(sz * 0.9)}" fill="${hex(safe(time === 'dusk' ? [255, 178, 110] : [255, 226, 160]))}" opacity="0.45"/>`);
      bg.push(pictogramSvg('sun', p.x - sz / 2, p.y - sz * 0.62, sz, { hue: time === 'dusk' ? 22 : 40, sat: 1, light: 0.6 }, id()));
    }
  } else if (weather === 'clear' || weather === 'cloudy') {
    const sz = skyS * 0.2;
    const p = inSky(pick(rng, [range(rng, 0.05, 0.2), range(rng, 0.7, 0.85)]), 0.06);
    bg.push(pictogramSvg('sun', p.x, p.y, sz, null, id()));
  }

  // Weather in the sky.
  const cloudIcon = weather === 'storm' ? 'cloud-with-lightning-and-rain' : weather === 'rain' ? 'cloud-with-rain' : weather === 'snow' ? 'cloud-with-snow' : 'cloud';
  const clouds = weather === 'storm' ? 3 : weather === 'rain' || weather === 'snow' || weather === 'cloudy' ? 3 : weather === 'clear' && !night ? int(rng, 0, 2) : 0;
  for (let i = 0; i < clouds; i++) {
    const sz = skyS * range(rng, 0.2, 0.28);
    const p = inSky((i + range(rng, 0.1, 0.5)) / Math.max(clouds, 1) - 0.1, range(rng, 0.02, 0.2));
    bg.push(pictogramSvg(cloudIcon, p.x, p.y, sz, weather === 'storm' ? { hue: null, light: 0.35 } : null, id()));
  }
  if (weather === 'storm') {
    const p = inSky(range(rng, 0.3, 0.7), 0.3);
    bg.push(pictogramSvg('high-voltage', p.x, p.y, skyS * 0.22, null, id()));
  }

  // The place: distant features on the horizon, then the ground.
  if (place === 'mountains' && !indoors) {
    for (let i = 0, n = int(rng, 2, 3); i < n; i++) {
      const sz = s * range(rng, 0.35, 0.5);
      bg.push(pictogramSvg('snow-capped-mountain', width * ((i + range(rng, 0.1, 0.6)) / n) - sz / 2, horizon - sz * 0.85, sz, null, id()));
    }
  }
  if (indoors) {
    bg.push(`<rect y="${f1(horizon)}" width="${width}" height="${f1(height - horizon)}" fill="url(#ground)"/>`);
    bg.push(`<rect y="${f1(horizon - s * 0.02)}" width="${width}" height="${f1(s * 0.02)}" fill="${hex(safe([130, 100, 80]))}"/>`);
    const pic = pictogramSvg('framed-picture', width * range(rng, 0.62, 0.8), height * 0.12, s * 0.16, null, id());
    bg.push(pic);
    bg.push(pictogramSvg('potted-plant', width * range(rng, 0.86, 0.9), horizon - s * 0.2, s * 0.22, null, id()));
  } else {
    bg.push(`<rect y="${f1(horizon)}" width="${width}" height="${f1(height - horizon)}" fill="url(#ground)"/>`);
    if (place === 'sea') {
      const shore = horizon + (height - horizon) * range(rng, 0.72, 0.82);
      bg.push(`<rect y="${f1(shore)}" width="${width}" height="${f1(height - shore)}" fill="${hex(safe(night ? [120, 116, 120] : [232, 210, 160]))}"/>`);
      const crest = hex(safe(mix([210, 232, 248], [90, 100, 140], night ? 0.5 : 0)));
      for (let i = int(rng, 8, 16); i > 0; i--) {
        const y = range(rng, horizon + 4, shore - 4);
        bg.push(`<rect x="${f1(rng() * width)}" y="${f1(y)}" width="${f1(s * range(rng, 0.04, 0.1))}" height="${f1(Math.max(1, s * 0.006))}" rx="${f1(s * 0.003)}" fill="${crest}"/>`);
      }
    }
    // Scenery pictograms along the horizon and in the corners, back to front.
    const props = PLACE_PROPS[weather === 'snow' && place === 'meadow' ? 'snowfield' : place];
    const count = props.length === 0 ? 0 : int(rng, place === 'city' || place === 'forest' ? 5 : 2, place === 'city' || place === 'forest' ? 8 : 4);
    const items = Array.from({ length: count }, (_, i) => ({ icon: pick(rng, props), x: (i + range(rng, 0, 0.8)) / count, depth: range(rng, 0, 0.35) }));
    items.sort((a, b) => a.depth - b.depth);
    for (const it of items) {
      const big = place === 'city' || place === 'forest';
      const sz = s * (big ? 0.26 : 0.14) * (1 + it.depth);
      const baseY = horizon + (height - horizon) * it.depth * 0.25;
      bg.push(pictogramSvg(it.icon, it.x * width - sz / 2, baseY - sz * 0.92, sz, null, id()));
    }
  }

  // The named subjects.
  const placed: Placed[] = [];
  const parts: string[] = [];
  const subjects = read.subjects;
  if (subjects.length > 0) {
    const supports = new Set(subjects.map((x) => x.on).filter((k) => k >= 0));
    const riders = subjects.map((x, k) => (x.on >= 0 ? k : -1)).filter((k) => k >= 0);
    // Ground row: every subject that stands on the ground (not airborne, not riding).
    const ground = subjects.map((_, k) => k).filter((k) => subjects[k]!.on < 0 && !(AIRBORNE.has(subjects[k]!.icon) && !supports.has(k)));
    const air = subjects.map((_, k) => k).filter((k) => subjects[k]!.on < 0 && AIRBORNE.has(subjects[k]!.icon) && !supports.has(k));
    const boxes = new Map<number, { x: number; y: number; size: number }>();
    const rowY = withFigures ? horizon + (height - horizon) * 0.15 : horizon + (height - horizon) * range(subjectRng, 0.55, 0.7);
    const maxSize = withFigures ? s * 0.32 : Math.min(height * 0.62, rowY * 0.95);
    const slot = (width * 0.9) / Math.max(1, ground.length);
    ground.forEach((k, i) => {
      const first = i === 0 ? 1 : 0.78;
      let size = Math.min(maxSize * first * (supports.has(k) ? 1.1 : 1), slot * 0.95);
      if (supports.has(k)) {
        // Leave room above the support for what stands on it.
        const icon = subjects[k]!.icon;
        const need = 1 - (SEAT[icon] ?? 0.3) + 0.95 * riderShare(icon);
        size = Math.min(size, (rowY - height * 0.03) / need);
      }
      const cx = width * 0.05 + slot * (i + 0.5) + slot * range(subjectRng, -0.06, 0.06);
      boxes.set(k, { x: cx - size / 2, y: rowY - size, size });
    });
    air.forEach((k, i) => {
      const size = Math.min(s * 0.28, (width * 0.8) / air.length);
      const cx = width * (0.2 + (0.6 * (i + 0.5)) / air.length) + size * range(subjectRng, -0.2, 0.2);
      boxes.set(k, { x: cx - size / 2, y: height * range(subjectRng, 0.05, 0.12), size });
    });
    // With story characters in front, move each subject to where the figures hide it least, so
    // "Mira finds a map in the attic" still shows the map beside Mira.
    if (withFigures) {
      const taken: Rect[] = [];
      for (const k of [...ground, ...air]) {
        const b = boxes.get(k)!;
        const need = supports.has(k) ? 1.6 : 1;
        let best = { x: b.x, score: Infinity };
        for (let i = 0; i <= 24; i++) {
          const x = ((width - b.size) * i) / 24;
          const r = { x, y: b.y - (need - 1) * b.size, w: b.size, h: b.size * need };
          const score = figureBoxes.reduce((a, f) => a + overlap(r, f), 0) + taken.reduce((a, t) => a + 0.5 * overlap(r, t), 0) + Math.abs(x - b.x) * 1e-3;
          if (score < best.score) best = { x, score };
        }
        b.x = best.x;
        taken.push({ x: b.x, y: b.y, w: b.size, h: b.size });
      }
    }
    for (const k of riders) {
      const base = boxes.get(subjects[k]!.on);
      if (!base) continue;
      const seat = SEAT[subjects[subjects[k]!.on]!.icon] ?? 0.3;
      const size = base.size * riderShare(subjects[subjects[k]!.on]!.icon);
      boxes.set(k, { x: base.x + base.size / 2 - size / 2 + base.size * range(subjectRng, -0.08, 0.08), y: base.y + base.size * seat - size * 0.95, size });
    }
    // Draw supports and ground first, riders after, so a cat sits on its sofa.
    const order = [...ground, ...air, ...riders];
    for (const k of order) {
      const b = boxes.get(k);
      const subj = subjects[k]!;
      if (!b) continue;
      parts.push(`<ellipse cx="${f1(b.x + b.size / 2)}" cy="${f1(b.y + b.size * 0.97)}" rx="${f1(b.size * 0.38)}" ry="${f1(b.size * 0.04)}" fill="${hex(safe(mix(gNear, [40, 40, 40], 0.35)))}" opacity="${AIRBORNE.has(subj.icon) || subj.on >= 0 ? 0 : 0.5}"/>`);
      parts.push(pictogramSvg(subj.icon, b.x, b.y, b.size, subj.tint ?? nightTint, id()));
      placed.push({ word: subj.word, icon: subj.icon, colour: subj.colour, x: Math.round(b.x), y: Math.round(b.y), size: Math.round(b.size) });
    }
  }

  // Weather in front: rain streaks, snowflakes, fog bands.
  const over: string[] = [];
  if (!indoors && (weather === 'rain' || weather === 'storm')) {
    const c = hex(safe([190, 204, 224]));
    for (let i = weather === 'storm' ? 90 : 60; i > 0; i--) {
      const x = rng() * width;
      const y = rng() * height;
      const l = s * range(rng, 0.03, 0.06);
      over.push(`<line x1="${f1(x)}" y1="${f1(y)}" x2="${f1(x - l * 0.3)}" y2="${f1(y + l)}" stroke="${c}" stroke-width="${f1(Math.max(1, s * 0.003))}" opacity="0.7"/>`);
    }
  }
  if (!indoors && weather === 'snow') {
    for (let i = 40; i > 0; i--) {
      over.push(`<circle cx="${f1(rng() * width)}" cy="${f1(rng() * height)}" r="${f1(Math.max(1, s * range(rng, 0.003, 0.008)))}" fill="#f8f8ff" opacity="0.9"/>`);
    }
  }
  if (!indoors && weather === 'fog') {
    for (let i = 0; i < 4; i++) {
      over.push(`<rect y="${f1(horizon * 0.5 + i * height * 0.12)}" width="${width}" height="${f1(height * 0.07)}" fill="#eeeef2" opacity="0.35"/>`);
    }
  }
  if (indoors && night) over.push(`<rect width="${width}" height="${height}" fill="#404070" opacity="0.15"/>`);
  return { background: bg.join(''), subjects: parts.join(''), overlay: over.join(''), shadow: safe(mix(gNear, [40, 40, 40], 0.4)), placed, horizon };
}

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlap = (a: Rect, b: Rect) => Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x)) * Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));

/** A rider's size as a share of its support's. */
const riderShare = (support: string) => (support === 'cliff' ? 0.62 : 0.5);

const PLACE_PROPS: Record<Place, readonly string[]> = {
  meadow: ['deciduous-tree', 'tulip', 'blossom', 'deciduous-tree'],
  forest: ['evergreen-tree', 'deciduous-tree', 'evergreen-tree'],
  sea: [],
  city: ['office-building', 'classical-building', 'house', 'hotel', 'department-store', 'office-building'],
  desert: ['cactus', 'cactus', 'rock'],
  mountains: ['evergreen-tree', 'rock'],
  indoors: [],
  snowfield: ['evergreen-tree', 'evergreen-tree', 'rock'],
};
