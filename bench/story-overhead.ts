/**
 * Story overhead: wall time from submit to completed against the story's critical path with a
 * simulated provider latency. Portraits run in waves of the provider's concurrency; scenes run one
 * after another (each is a turn of one conversation), so
 *   critical path = ceil(portraits / concurrency) × latency + scenes × latency
 * and wall / critical path is what Easel adds (a simulated call takes exactly the latency, its
 * rendering included; Easel adds queue pickup, per-step checks and storage, the last image's
 * encoding and signing, the database, polling). Loopback only.
 *   npm run bench:story        (BENCH_RUNS, default 3; BENCH_LATENCY_MS, default 200)
 */
import { EaselProcess, api } from '../test/helpers/server.js';
import { SketchProvider } from '../src/providers/sketch-provider.js';

const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 200);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const POLL_MS = 10;

const STORY = {
  model: 'easel-sketch',
  prompt: 'A lighthouse keeper, a smuggler and a detective on one stormy night.',
  style: 'ink and watercolour',
  characters: [
    { name: 'Keeper', appearance: 'an old lighthouse keeper with a white beard', states: { night: { appearance: 'an oil lamp and a long coat' }, wet: { appearance: 'soaked to the bone' } } },
    { name: 'Smuggler', appearance: 'a wiry smuggler in a black knit cap' },
    { name: 'Detective', appearance: 'a detective in a grey trench coat' },
  ],
  locations: [{ name: 'Lighthouse', description: 'a red and white lighthouse on a rock' }],
  scenes: [
    { prompt: 'The keeper lights the lamp', characters: [{ name: 'Keeper', state: 'night' }], location: 'Lighthouse' },
    { prompt: 'A boat lands in the cove', characters: ['Smuggler'] },
    { prompt: 'The detective arrives on the last ferry', characters: ['Detective'] },
    { prompt: 'The keeper spots the smuggler', characters: [{ name: 'Keeper', state: 'wet' }, 'Smuggler'], location: 'Lighthouse' },
    { prompt: 'The detective confronts them both', characters: ['Keeper', 'Smuggler', 'Detective'] },
    { prompt: 'Morning: the storm has passed', location: 'Lighthouse' },
  ],
};

function criticalPathMs(): { portraits: number; waves: number; scenes: number; concurrency: number; ms: number } {
  const portraits = STORY.characters.reduce((n, c) => n + 1 + Object.keys(c.states ?? {}).length, 0);
  // The same provider the server builds for easel-sketch, for its advertised concurrency.
  const concurrency = new SketchProvider('easel-sketch', { latencyMs: 0, multiturn: true, callLog: null, failures: { remaining: 0 } }).capabilities.maxConcurrency;
  const waves = Math.ceil(portraits / concurrency);
  return { portraits, waves, scenes: STORY.scenes.length, concurrency, ms: (waves + STORY.scenes.length) * LATENCY_MS };
}

async function runOnce(srv: EaselProcess, key: string): Promise<number> {
  const t0 = performance.now();
  const res = await api(srv.baseUrl, 'POST', '/v1/generate/story', { key, body: STORY });
  if (res.status !== 202) throw new Error(`submit: ${res.status} ${res.text}`);
  for (;;) {
    const j = (await api(srv.baseUrl, 'GET', res.body.poll_url, { key })).body;
    if (j.status === 'completed') return performance.now() - t0;
    if (j.status === 'failed') throw new Error(`story ${j.canceled ? 'canceled' : 'failed'}: ${JSON.stringify(j.error)}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

const cp = criticalPathMs();
// Polling every 10 ms is far over the default per-key request rate; the limiter is not what is measured.
const srv = await EaselProcess.start({ env: { EASEL_SKETCH_LATENCY_MS: String(LATENCY_MS), EASEL_RATE_LIMIT_PER_MIN: '0' } });
try {
  const key = await srv.createKey('bench-story', '100');
  await runOnce(srv, key); // warm-up: JIT, sharp, SQLite pages
  const walls: number[] = [];
  for (let i = 0; i < RUNS; i++) walls.push(await runOnce(srv, key));
  const sorted = [...walls].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`story: ${cp.portraits} portraits (concurrency ${cp.concurrency} → ${cp.waves} wave) + ${cp.scenes} sequential scenes, provider latency ${LATENCY_MS} ms`);
  console.log(`critical path: ${cp.ms} ms`);
  console.log(`wall (submit → completed), ${RUNS} runs: ${walls.map((w) => w.toFixed(0)).join(', ')} ms; median ${median.toFixed(0)} ms`);
  console.log(`ratio wall / critical path: ${(median / cp.ms).toFixed(2)} (best ${(sorted[0]! / cp.ms).toFixed(2)})`);
} finally {
  await srv.stop();
}
