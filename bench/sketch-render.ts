/**
 * CPU time of the default renderer (easel-sketch) for a 1024×1024 image, against issue 24's
 * target of ≤ 50 ms of CPU, and against an anchor measured in the same run: sharp rasterising
 * and PNG-encoding a 1024×1024 SVG of one flat rectangle (the floor every render pays to
 * produce a 1K PNG at all). CPU time is process.cpuUsage() (user + system, every thread of the
 * process: libvips' own threads included), so the number does not depend on how much of a core
 * the process got on this shared machine. Run with
 *   node --import tsx bench/sketch-render.ts      (RUNS=n to change the count)
 */
import sharp from 'sharp';
import { renderSketch } from '../src/providers/sketch/render.js';

const RUNS = Number(process.env.RUNS ?? 20);
const TARGET_MS = 50;
const PROMPTS = [
  'a lighthouse on a cliff at dusk',
  'a red cat sleeping on a sofa',
  'a sailboat on the sea in a storm',
  'a skyscraper in the city at night',
  'an elephant and a giraffe in the desert',
];
const FIGURES = [
  { key: 'Aria', appearance: 'a tall cartographer with copper hair and a blue scarf' },
  { key: 'Cato', appearance: 'a young courier with a yellow raincoat and an umbrella' },
];

async function cpuPerRun(fn: (i: number) => Promise<unknown>): Promise<{ median: number; mean: number }> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const c = process.cpuUsage();
    await fn(i);
    const d = process.cpuUsage(c);
    times.push((d.user + d.system) / 1000);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)]!, mean: times.reduce((a, b) => a + b, 0) / times.length };
}

const anchorSvg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="1024" height="1024"><rect width="1024" height="1024" fill="#88aacc"/><rect x="200" y="300" width="500" height="400" fill="#cc9966"/></svg>');
const anchor = () => sharp(anchorSvg, { density: 72 }).removeAlpha().png({ compressionLevel: 6, adaptiveFiltering: false }).toBuffer();

// Warm-up: the icon set's JSON is parsed once per process (reported separately), V8 and libvips warm up.
const c0 = process.cpuUsage();
await renderSketch({ prompt: 'a dog', seed: 0, width: 256, height: 256 });
const first = process.cpuUsage(c0);
for (let i = 0; i < 3; i++) { await anchor(); await renderSketch({ prompt: PROMPTS[i]!, seed: i, width: 1024, height: 1024 }); }

const a = await cpuPerRun(() => anchor());
const scene = await cpuPerRun((i) => renderSketch({ prompt: PROMPTS[i % PROMPTS.length]!, seed: i, width: 1024, height: 1024 }));
const story = await cpuPerRun((i) => renderSketch({ prompt: PROMPTS[i % PROMPTS.length]!, seed: i, width: 1024, height: 1024, figures: FIGURES }));

const row = (label: string, r: { median: number; mean: number }) =>
  `| ${label} | ${r.median.toFixed(1)} ms CPU (mean ${r.mean.toFixed(1)}) | ${a.median.toFixed(1)} ms | ${(r.median / a.median).toFixed(2)} | ${(r.median / TARGET_MS).toFixed(2)} | ${r.median <= TARGET_MS ? 'met' : '**not met**'} |`;
console.log(`first render in a process (icon set load + 256×256): ${((first.user + first.system) / 1000).toFixed(0)} ms CPU`);
console.log(`${RUNS} runs each, median CPU time (user+system, all threads)\n`);
console.log('| measurement | easel-sketch | anchor: sharp SVG→PNG of 2 rects, 1024×1024 (same run) | ÷ anchor | ÷ target 50 ms | result (≤ 50 ms) |');
console.log('|---|---|---|---|---|---|');
console.log(row('1K scene (1024×1024, 5 prompts in turn)', scene));
console.log(row('1K story scene (+ 2 characters with props)', story));
