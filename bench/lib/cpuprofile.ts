/**
 * Reads a V8 .cpuprofile (node --cpu-prof; `BENCH_PROFILE_DIR=dir npm run bench`) and prints the top
 * frames by self time and by inclusive time, with their file and line.
 *   node --import tsx bench/lib/cpuprofile.ts file.cpuprofile [top=30] [filter-substring]
 *   WINDOW=a,b (seconds from the profile's start) counts only samples in that window; the
 *   per-second busy timeline printed first shows where the load was.
 */
import fs from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: cpuprofile.ts file.cpuprofile [top] [filter]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (n: Node) => {
  const url = n.callFrame.url.replace(/^file:\/\//, '').replace(/.*node_modules\//, '~/').replace(/.*\/main\//, '');
  return `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
};

// Sample timestamps, for the timeline and the window.
const times: number[] = [];
{
  let t = prof.startTime;
  for (const d of prof.timeDeltas) times.push((t += d));
}
const sec = (i: number) => (times[i]! - prof.startTime) / 1e6;
const idleIds = new Set(prof.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
{
  const busy: number[] = [];
  const all: number[] = [];
  prof.samples.forEach((id, i) => {
    const s = Math.floor(sec(i));
    all[s] = (all[s] ?? 0) + 1;
    if (!idleIds.has(id)) busy[s] = (busy[s] ?? 0) + 1;
  });
  console.log(`busy % per second: ${Array.from(all, (n, s) => Math.round((100 * (busy[s] ?? 0)) / (n || 1))).join(' ')}`);
}
const [from, to] = (process.env.WINDOW ?? '0,1e9').split(',').map(Number) as [number, number];

const self = new Map<string, number>();
const incl = new Map<string, number>();
let total = 0;
for (const [i, id] of prof.samples.entries()) {
  if (sec(i) < from || sec(i) >= to) continue;
  const n = byId.get(id)!;
  total++;
  self.set(label(n), (self.get(label(n)) ?? 0) + 1);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + 1);
  }
}
const print = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (${total} samples, ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s)`);
  [...m]
    .filter(([l]) => !filter || l.includes(filter))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .forEach(([l, c]) => console.log(`${((100 * c) / total).toFixed(1).padStart(5)} %  ${l}`));
};
print('self time', self);
print('inclusive time', incl);
