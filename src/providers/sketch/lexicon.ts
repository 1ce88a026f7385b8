import { hasIcon, type Tint } from './pictograms.js';

/**
 * Reads a prompt the way the default renderer needs it: which things it names (each becomes a
 * pictogram, tinted by a colour word in front of it), the time of day, the weather and the
 * place. Plain word lists, no model: predictable, and a word it does not know is skipped.
 */
export type TimeOfDay = 'day' | 'dawn' | 'dusk' | 'night';
export type Weather = 'clear' | 'cloudy' | 'rain' | 'storm' | 'snow' | 'fog';
export type Place = 'meadow' | 'sea' | 'city' | 'forest' | 'desert' | 'mountains' | 'indoors' | 'snowfield';

export interface Subject {
  /** The prompt's word (or phrase) that named it. */
  word: string;
  icon: string;
  tint: Tint | null;
  colour: string | null;
  /** Index of the subject this one stands on ("a cat on a sofa"), else -1. */
  on: number;
}

export interface ReadPrompt {
  subjects: Subject[];
  time: TimeOfDay;
  weather: Weather;
  place: Place;
}

/** Words (singular) and two-word phrases naming a pictogram whose name differs from the word. */
const SYNONYMS: Record<string, string> = {
  car: 'automobile', auto: 'automobile', taxi: 'taxi', truck: 'delivery-truck', 'fire truck': 'fire-engine', van: 'minibus',
  boat: 'sailboat', sailboat: 'sailboat', yacht: 'sailboat', ship: 'ship', ferry: 'ferry', canoe: 'canoe', kayak: 'canoe',
  plane: 'airplane', airplane: 'airplane', aeroplane: 'airplane', jet: 'airplane', bike: 'bicycle', motorbike: 'motorcycle',
  train: 'locomotive', tram: 'tram', 'hot air balloon': 'balloon', spaceship: 'rocket',
  moon: 'crescent-moon', sun: 'sun', star: 'glowing-star', rainbow: 'rainbow', cloud: 'cloud', snowman: 'snowman',
  tree: 'deciduous-tree', oak: 'deciduous-tree', pine: 'evergreen-tree', 'pine tree': 'evergreen-tree', fir: 'evergreen-tree',
  'palm tree': 'palm-tree', palm: 'palm-tree', 'christmas tree': 'christmas-tree', flower: 'tulip', rose: 'rose', tulip: 'tulip',
  sunflower: 'sunflower', mushroom: 'mushroom', leaf: 'maple-leaf', cactus: 'cactus', plant: 'potted-plant',
  sofa: 'couch-and-lamp', couch: 'couch-and-lamp', bed: 'bed', chair: 'chair', window: 'window', door: 'door',
  book: 'green-book', books: 'books', lamp: 'light-bulb', candle: 'candle', clock: 'mantelpiece-clock', phone: 'mobile-phone',
  computer: 'laptop', laptop: 'laptop', tv: 'television', television: 'television', camera: 'camera', guitar: 'guitar',
  violin: 'violin', piano: 'musical-keyboard', gift: 'wrapped-gift', present: 'wrapped-gift', kite: 'kite', balloon: 'balloon',
  umbrella: 'umbrella', lantern: 'red-paper-lantern', key: 'key', anchor: 'anchor', trophy: 'trophy', ball: 'soccer-ball',
  house: 'house', home: 'house-with-garden', cottage: 'house-with-garden', cabin: 'hut', hut: 'hut', tent: 'tent',
  castle: 'castle', palace: 'castle', church: 'church', temple: 'classical-building', museum: 'classical-building',
  skyscraper: 'office-building', tower: 'tokyo-tower', building: 'office-building', office: 'office-building',
  factory: 'factory', school: 'school', hospital: 'hospital', hotel: 'hotel', shop: 'convenience-store', store: 'convenience-store',
  stadium: 'stadium', bridge: 'bridge-at-night', fountain: 'fountain', 'ferris wheel': 'ferris-wheel', windmill: 'wind-face',
  lighthouse: 'lighthouse', cliff: 'cliff', volcano: 'volcano', mountain: 'snow-capped-mountain', island: 'desert-island',
  coffee: 'hot-beverage', tea: 'teacup-without-handle', teapot: 'teapot', cake: 'shortcake', 'birthday cake': 'birthday-cake',
  cupcake: 'cupcake', pizza: 'pizza', burger: 'hamburger', hamburger: 'hamburger', 'hot dog': 'hot-dog', sandwich: 'sandwich',
  apple: 'red-apple', pear: 'pear', orange: 'tangerine', lemon: 'lemon', banana: 'banana', cherry: 'cherries', grape: 'grapes',
  strawberry: 'strawberry', watermelon: 'watermelon', peach: 'peach', pineapple: 'pineapple', carrot: 'carrot',
  tomato: 'tomato', bread: 'bread', loaf: 'bread', croissant: 'croissant', cheese: 'cheese-wedge', egg: 'egg',
  soup: 'pot-of-food', noodle: 'steaming-bowl', ramen: 'steaming-bowl', pasta: 'spaghetti', spaghetti: 'spaghetti',
  sushi: 'sushi', taco: 'taco', 'ice cream': 'ice-cream', icecream: 'ice-cream', donut: 'doughnut', doughnut: 'doughnut',
  cookie: 'cookie', pancake: 'pancakes', waffle: 'waffle', wine: 'wine-glass', juice: 'cup-with-straw', bowl: 'bowl-with-spoon',
  cat: 'cat', kitten: 'cat', dog: 'dog', puppy: 'dog', horse: 'horse', pony: 'horse', cow: 'cow', pig: 'pig', sheep: 'ewe',
  lamb: 'ewe', goat: 'goat', chicken: 'chicken', hen: 'chicken', rooster: 'rooster', duck: 'duck', swan: 'swan', owl: 'owl',
  eagle: 'eagle', parrot: 'parrot', bird: 'bird', dove: 'dove', pigeon: 'dove', penguin: 'penguin', flamingo: 'flamingo',
  fish: 'tropical-fish', goldfish: 'tropical-fish', whale: 'spouting-whale', dolphin: 'dolphin', shark: 'shark',
  octopus: 'octopus', crab: 'crab', turtle: 'turtle', tortoise: 'turtle', frog: 'frog', snake: 'snake', dragon: 'dragon',
  unicorn: 'unicorn', lion: 'lion', tiger: 'tiger', leopard: 'leopard', elephant: 'elephant', giraffe: 'giraffe',
  zebra: 'zebra', monkey: 'monkey', gorilla: 'gorilla', bear: 'bear', 'polar bear': 'polar-bear', panda: 'panda',
  koala: 'koala', rabbit: 'rabbit', bunny: 'rabbit', mouse: 'mouse', hamster: 'hamster', fox: 'fox', wolf: 'wolf',
  deer: 'deer', hedgehog: 'hedgehog', squirrel: 'chipmunk', bat: 'bat', butterfly: 'butterfly', bee: 'honeybee',
  ladybug: 'lady-beetle', snail: 'snail', robot: 'robot', alien: 'alien', ghost: 'ghost', 'teddy bear': 'teddy-bear',
  astronaut: 'astronaut', wizard: 'man-mage', witch: 'woman-mage', person: 'person', man: 'man', woman: 'woman', child: 'child', girl: 'girl', boy: 'boy', knight: 'shield', pirate: 'pirate-flag', crown: 'crown',
  fire: 'fire', campfire: 'fire', rocket: 'rocket', helicopter: 'helicopter', bus: 'bus', bicycle: 'bicycle',
  motorcycle: 'motorcycle', ambulance: 'ambulance', tractor: 'tractor', scooter: 'motor-scooter', submarine: 'ship',
  hat: 'top-hat', cap: 'billed-cap', scarf: 'scarf', backpack: 'backpack', glasses: 'glasses', goggles: 'goggles',
  sword: 'crossed-swords', shield: 'shield', map: 'world-map', compass: 'compass', telescope: 'telescope', globe: 'globe-showing-europe-africa',
};

/** Words that would match an icon name but are not things a picture shows. */
const NOT_SUBJECTS = new Set([
  'a', 'an', 'the', 'on', 'in', 'at', 'of', 'and', 'with', 'over', 'under', 'by', 'up', 'down', 'new', 'free', 'ok', 'cool',
  'top', 'soon', 'back', 'end', 'id', 'vs', 'sos', 'ng', 'information', 'night', 'day', 'dusk', 'dawn', 'evening', 'morning',
  'storm', 'rain', 'snow', 'fog', 'mist', 'sea', 'ocean', 'city', 'forest', 'desert', 'beach', 'field', 'meadow', 'room',
  'kitchen', 'sky', 'water', 'sand', 'grass', 'ground', 'street', 'road', 'wave', 'light', 'dark', 'one', 'two', 'three',
  'cross', 'mark', 'check', 'ice', 'sunset', 'sunrise', 'foggy', 'snowy', 'rainy', 'stormy', 'cloudy', 'windy', 'sunny', 'starry', 'moonlit', 'mountains', 'hill', 'hills', 'lake', 'river', 'park', 'village', 'library', 'cafe', 'table', 'winter', 'summer', 'spring', 'autumn', 'collision', 'dizzy', 'hundred-points', 'zzz', 'eye', 'eyes', 'ear', 'nose', 'mouth', 'tongue',
]);

/** Hue words (for pictogram tints and clothing colours). */
export const COLOURS: Record<string, Tint> = {
  red: { hue: 0 }, crimson: { hue: 350 }, scarlet: { hue: 5 }, orange: { hue: 28 }, amber: { hue: 40 }, golden: { hue: 45 },
  gold: { hue: 45 }, yellow: { hue: 55 }, lime: { hue: 85 }, green: { hue: 120 }, emerald: { hue: 140 }, teal: { hue: 175 },
  turquoise: { hue: 175 }, cyan: { hue: 185 }, blue: { hue: 220 }, navy: { hue: 225, light: 0.3, sat: 0.6 }, indigo: { hue: 250 },
  purple: { hue: 275 }, violet: { hue: 280 }, magenta: { hue: 305 }, pink: { hue: 330 }, copper: { hue: 22, light: 0.45, sat: 0.6 },
  brown: { hue: 28, light: 0.35, sat: 0.5 }, black: { hue: null, light: 0.12 }, white: { hue: null, light: 0.95 },
  grey: { hue: null, light: 0.55 }, gray: { hue: null, light: 0.55 }, silver: { hue: null, light: 0.75 },
  ginger: { hue: 24 }, blond: { hue: 50, light: 0.7 }, blonde: { hue: 50, light: 0.7 },
};

/** Between a colour word and its noun: "a red fluffy cat", "a big yellow rubber duck". */
const FILLERS = new Set(['little', 'small', 'big', 'large', 'huge', 'tiny', 'old', 'young', 'fluffy', 'shiny', 'cute', 'giant', 'fat', 'happy', 'sleepy', 'lonely', 'wooden', 'rubber', 'bright', 'dark', 'light', 'striped', 'spotted', 'tall', 'short', 'vintage', 'cosy', 'cozy', 'ancient']);

const TIME: [RegExp, TimeOfDay][] = [
  [/\b(night|midnight|moonlit|moonlight|starry|stars|nighttime)\b/, 'night'],
  [/\b(dusk|sunset|twilight|evening|sundown|golden hour)\b/, 'dusk'],
  [/\b(dawn|sunrise|daybreak|early morning)\b/, 'dawn'],
];
const WEATHER: [RegExp, Weather][] = [
  [/(storms?|stormy|\bthunder\w*|lightning|hurricane|tempest)\b/, 'storm'],
  [/\b(snow\w*|blizzard|winter|wintry|frost\w*)\b/, 'snow'],
  [/\b(rain\w*|drizzle|downpour|showers?|wet)\b/, 'rain'],
  [/\b(fog\w*|mist\w*|haze|hazy)\b/, 'fog'],
  [/\b(cloudy|overcast|clouds|grey sky|gray sky)\b/, 'cloudy'],
];
const PLACE: [RegExp, Place][] = [
  [/\b(indoors?|inside|room|kitchen|bedroom|living room|sofa|couch|bed|table|desk|office|cafe|café|library|studio|fireplace|window)\b/, 'indoors'],
  [/\b(sea|ocean|beach|coast|shore|harbou?r|lake|river|bay|waves?|sailing|island|port|lighthouse)\b/, 'sea'],
  [/\b(city|town|street|downtown|skyline|village|market|square|skyscrapers?|buildings?)\b/, 'city'],
  [/\b(forest|woods?|jungle|grove)\b/, 'forest'],
  [/\b(desert|dunes?|sahara|cactus|cacti|oasis)\b/, 'desert'],
  [/\b(mountains?|alps|peaks?|hills?|valley|cliffs?|canyon|volcano)\b/, 'mountains'],
  [/\b(meadow|field|garden|park|farm|countryside|grass|lawn)\b/, 'meadow'],
];

function firstMatch<T>(text: string, table: [RegExp, T][]): T | null {
  let best: { at: number; v: T } | null = null;
  for (const [re, v] of table) {
    const m = re.exec(text);
    if (m && (best === null || m.index < best.at)) best = { at: m.index, v };
  }
  return best?.v ?? null;
}

function singular(w: string): string[] {
  const out = [w];
  if (w.endsWith('ies') && w.length > 4) out.push(`${w.slice(0, -3)}y`);
  if (w.endsWith('es') && w.length > 4) out.push(w.slice(0, -2));
  if (w.endsWith('s') && !w.endsWith('ss') && w.length > 3) out.push(w.slice(0, -1));
  return out;
}

function iconFor(word: string): string | null {
  const syn = SYNONYMS[word];
  if (syn && hasIcon(syn)) return syn;
  if (word.length >= 3 && !NOT_SUBJECTS.has(word) && !COLOURS[word] && /^[a-z]+$/.test(word) && hasIcon(word)) return word;
  return null;
}

export const MAX_SUBJECTS = 5;

export function readPrompt(prompt: string): ReadPrompt {
  const text = prompt.toLowerCase();
  const words = text.split(/[^a-z]+/).filter(Boolean);
  const subjects: Subject[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < words.length && subjects.length < MAX_SUBJECTS; i++) {
    let icon: string | null = null;
    let word = '';
    let span = 1;
    for (const n of [3, 2]) {
      if (i + n > words.length) continue;
      const phrase = words.slice(i, i + n).join(' ');
      const hit = SYNONYMS[phrase];
      if (hit && hasIcon(hit)) { icon = hit; word = phrase; span = n; break; }
    }
    if (!icon) {
      // A colour word followed by a noun is a colour, not a fruit ("orange cat").
      if (COLOURS[words[i]!] && i + 1 < words.length && nounAhead(words, i + 1)) continue;
      for (const w of singular(words[i]!)) {
        icon = iconFor(w);
        if (icon) { word = words[i]!; break; }
      }
    }
    if (!icon || seen.has(icon)) { i += span - 1; continue; }
    seen.add(icon);
    // A colour word up to three words back, across fillers: "a red fluffy cat".
    let colour: string | null = null;
    for (let j = i - 1; j >= Math.max(0, i - 3); j--) {
      const w = words[j]!;
      if (COLOURS[w]) { colour = w; break; }
      if (!FILLERS.has(w)) break;
    }
    // "X on/atop a Y": X stands on Y, resolved once Y is known.
    const on = /^(on|atop|upon)$/.test(words[i + span] ?? '') || (words[i + span + 1] === 'on' && /ing$/.test(words[i + span] ?? ''));
    subjects.push({ word, icon, tint: colour ? COLOURS[colour]! : null, colour, on: on ? -2 : -1 });
    i += span - 1;
  }
  // Resolve "on": the next subject named after it.
  subjects.forEach((s, k) => { s.on = s.on === -2 && k + 1 < subjects.length ? k + 1 : -1; });

  const time = firstMatch(text, TIME) ?? 'day';
  // Weather by severity (a snowstorm is a storm), the rest by first mention.
  const weather = WEATHER.find(([re]) => re.test(text))?.[1] ?? 'clear';
  let place = firstMatch(text, PLACE);
  if (!place) place = weather === 'snow' || /\b(snow\w*|ice|icy|frozen|arctic|polar)\b/.test(text) ? 'snowfield' : 'meadow';
  return { subjects, time, weather, place };
}

function nounAhead(words: string[], from: number): boolean {
  for (let j = from; j < Math.min(words.length, from + 3); j++) {
    for (const w of singular(words[j]!)) if (iconFor(w)) return true;
    if (!FILLERS.has(words[j]!) && !COLOURS[words[j]!]) return false;
  }
  return false;
}
