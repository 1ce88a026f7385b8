import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { renderSketchDetailed, type SketchRenderResult } from '../../src/providers/sketch/render.js';

/**
 * The default renderer's visual regression set: 30 everyday prompts (animals, buildings,
 * vehicles, food, weather, times of day). For each, the renderer must report the pictograms it
 * was expected to place, and each placed pictogram's box must really differ from the same
 * scene rendered without its subjects (so a subject that is named, "placed" but not drawn, or
 * drawn under something else, fails). Sky colour is checked for the time of day, and a colour
 * word must tint its subject. A contact sheet of all 30 is written to
 * test-artifacts/sketch-prompts/contact-sheet.png for a human to look at.
 */
type Case = { prompt: string; icons: string[]; time?: 'day' | 'dawn' | 'dusk' | 'night'; weather?: string; place?: string; tint?: [string, number] };
const CASES: Case[] = [
  { prompt: 'a lighthouse on a cliff at dusk', icons: ['lighthouse', 'cliff'], time: 'dusk', place: 'sea' },
  { prompt: 'a red cat sleeping on a sofa', icons: ['cat', 'couch-and-lamp'], place: 'indoors', tint: ['cat', 0] },
  { prompt: 'a dog playing in the park', icons: ['dog'], place: 'meadow' },
  { prompt: 'a horse in a field at dawn', icons: ['horse'], time: 'dawn', place: 'meadow' },
  { prompt: 'an owl in the forest at night', icons: ['owl'], time: 'night', place: 'forest' },
  { prompt: 'a penguin on the ice during a snowstorm', icons: ['penguin'], weather: 'storm' },
  { prompt: 'a whale in the ocean', icons: ['spouting-whale'], place: 'sea' },
  { prompt: 'an elephant and a giraffe in the desert', icons: ['elephant', 'giraffe'], place: 'desert' },
  { prompt: 'a fox in the snow', icons: ['fox'], weather: 'snow' },
  { prompt: 'a castle on a hill under a starry sky', icons: ['castle'], time: 'night' },
  { prompt: 'a small house in the mountains', icons: ['house'], place: 'mountains' },
  { prompt: 'a church in a village in the rain', icons: ['church'], weather: 'rain', place: 'city' },
  { prompt: 'a skyscraper in the city at night', icons: ['office-building'], time: 'night', place: 'city' },
  { prompt: 'a tent by the lake at sunset', icons: ['tent'], time: 'dusk', place: 'sea' },
  { prompt: 'a blue car on a city street', icons: ['automobile'], place: 'city', tint: ['automobile', 220] },
  { prompt: 'a sailboat on the sea in a storm', icons: ['sailboat'], weather: 'storm', place: 'sea' },
  { prompt: 'a red bicycle next to a tree', icons: ['bicycle', 'deciduous-tree'], tint: ['bicycle', 0] },
  { prompt: 'an airplane flying over the mountains', icons: ['airplane'], place: 'mountains' },
  { prompt: 'a yellow bus in the rain', icons: ['bus'], weather: 'rain', tint: ['bus', 55] },
  { prompt: 'a train crossing a bridge at dusk', icons: ['locomotive', 'bridge-at-night'], time: 'dusk' },
  { prompt: 'a pizza on a kitchen table', icons: ['pizza'], place: 'indoors' },
  { prompt: 'a bowl of lemons', icons: ['lemon'] },
  { prompt: 'a cup of coffee and a croissant at a cafe', icons: ['hot-beverage', 'croissant'], place: 'indoors' },
  { prompt: 'a birthday cake with candles', icons: ['birthday-cake', 'candle'] },
  { prompt: 'a green apple and a banana', icons: ['red-apple', 'banana'], tint: ['red-apple', 120] },
  { prompt: 'a snowman on a winter morning', icons: ['snowman'], weather: 'snow' },
  { prompt: 'a rainbow over a meadow after the rain', icons: ['rainbow'], place: 'meadow' },
  { prompt: 'a foggy morning by the river', icons: [], weather: 'fog', place: 'sea' },
  { prompt: 'a rocket launching at dawn', icons: ['rocket'], time: 'dawn' },
  { prompt: 'a robot reading a book in a library', icons: ['robot', 'green-book'], place: 'indoors' },
];

const W = 512;
const H = 320;
const results: { c: Case; r: SketchRenderResult }[] = [];

async function raw(png: Buffer) {
  return sharp(png).raw().toBuffer({ resolveWithObject: true });
}

function hueOf(r: number, g: number, b: number): { h: number; s: number } {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max === min) return { h: 0, s: 0 };
  const d = max - min;
  const h = max === r ? ((g - b) / d + 6) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return { h: h * 60, s: d / max };
}

describe('default renderer: 30 everyday prompts', () => {
  for (const c of CASES) {
    it(`"${c.prompt}" shows ${c.icons.join(', ') || 'its setting'}`, async () => {
      const input = { prompt: c.prompt, seed: 3, width: W, height: H };
      const r = await renderSketchDetailed(input);
      results.push({ c, r });
      const used = r.placed.map((p) => p.icon);
      for (const icon of c.icons) assert.ok(used.includes(icon), `${icon} not placed (placed: ${used.join(', ')})`);
      if (c.time) assert.equal(r.read.time, c.time);
      if (c.weather) assert.equal(r.read.weather, c.weather);
      if (c.place) assert.equal(r.read.place, c.place);

      // Each placed pictogram changes its own box against the empty scene.
      const empty = await renderSketchDetailed({ ...input, omitSubjects: true });
      const [a, b] = await Promise.all([raw(r.png), raw(empty.png)]);
      for (const p of r.placed) {
        let changed = 0;
        let total = 0;
        let hueX = 0;
        let hueY = 0;
        for (let y = Math.max(0, p.y); y < Math.min(H, p.y + p.size); y++) {
          for (let x = Math.max(0, p.x); x < Math.min(W, p.x + p.size); x++) {
            const o = (y * W + x) * 3;
            total++;
            const d = Math.abs(a.data[o]! - b.data[o]!) + Math.abs(a.data[o + 1]! - b.data[o + 1]!) + Math.abs(a.data[o + 2]! - b.data[o + 2]!);
            if (d > 30) {
              changed++;
              const { h, s } = hueOf(a.data[o]!, a.data[o + 1]!, a.data[o + 2]!);
              if (s > 0.2) { hueX += Math.cos((h * Math.PI) / 180) * s; hueY += Math.sin((h * Math.PI) / 180) * s; }
            }
          }
        }
        assert.ok(total > 0 && changed / total > 0.12, `${p.icon} box barely drawn: ${(100 * changed / total).toFixed(1)}% of its pixels differ from the empty scene`);
        if (c.tint && c.tint[0] === p.icon) {
          const mean = ((Math.atan2(hueY, hueX) * 180) / Math.PI + 360) % 360;
          const off = Math.min(Math.abs(mean - c.tint[1]), 360 - Math.abs(mean - c.tint[1]));
          assert.ok(off < 35, `${p.icon} should be tinted ${p.colour} (hue ${c.tint[1]}), mean hue is ${mean.toFixed(0)}`);
        }
      }
      // The sky's top row follows the time of day: night dark and blue, dusk/dawn warm at the horizon.
      if (c.time === 'night' && r.read.place !== 'indoors') {
        const px = a.data.subarray(W * 3 + 6, W * 3 + 9);
        assert.ok(px[0]! + px[1]! + px[2]! < 330 && px[2]! > px[0]!, `night sky should be dark blue, got ${[...px]}`);
      }
    });
  }

  it('is deterministic: same prompt and seed, same bytes', async () => {
    const a = await renderSketchDetailed({ prompt: CASES[0]!.prompt, seed: 9, width: 256, height: 256 });
    const b = await renderSketchDetailed({ prompt: CASES[0]!.prompt, seed: 9, width: 256, height: 256 });
    assert.ok(a.png.equals(b.png));
  });

  after(async () => {
    // Contact sheet: 5 columns × 6 rows of thumbnails, in CASES order.
    const dir = path.join('test-artifacts', 'sketch-prompts');
    fs.mkdirSync(dir, { recursive: true });
    const cols = 5;
    const tw = 256;
    const th = 160;
    const ordered = CASES.map((c) => results.find((x) => x.c === c)).filter((x) => x !== undefined);
    const tiles = await Promise.all(ordered.map(async (x, i) => ({
      input: await sharp(x.r.png).resize(tw, th).png().toBuffer(),
      left: (i % cols) * (tw + 4),
      top: Math.floor(i / cols) * (th + 4),
    })));
    const rows = Math.ceil(ordered.length / cols);
    await sharp({ create: { width: cols * (tw + 4), height: rows * (th + 4), channels: 3, background: '#ffffff' } }).composite(tiles).png().toFile(path.join(dir, 'contact-sheet.png'));
    fs.writeFileSync(path.join(dir, 'index.txt'), ordered.map((x, i) => `${i + 1}. ${x.c.prompt} → ${x.r.placed.map((p) => p.icon + (p.colour ? `(${p.colour})` : '')).join(', ')} | ${x.r.read.time}/${x.r.read.weather}/${x.r.read.place}`).join('\n') + '\n');
  });
});
