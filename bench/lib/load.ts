/**
 * The load generator: autocannon's own CLI in a child process (never in the process being measured,
 * nor in the bench process, so its CPU is accounted to neither), JSON result parsed here.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AUTOCANNON = require.resolve('autocannon/autocannon.js');

export interface LoadResult {
  /** 2xx responses per second over the measured duration. */
  rps: number;
  /** Response bytes per second (headers + bodies, as autocannon counts them). */
  bytesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  errors: number;
  seconds: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

interface AutocannonJson {
  requests: { total: number };
  throughput: { total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  duration: number;
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  const u = new URL(o.url);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost' && u.hostname !== '[::1]') throw new Error(`loopback only: ${o.url}`);
  const args = [AUTOCANNON, '-j', '-n', '-c', String(o.connections), '-d', String(o.seconds)];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}=${v}`);
  args.push(o.url);
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`autocannon exited ${code}: ${stderr.slice(-2000)}`))));
  });
  const j = JSON.parse(out.slice(out.indexOf('{'))) as AutocannonJson;
  return {
    rps: j['2xx'] / j.duration,
    bytesPerSec: j.throughput.total / j.duration,
    p50Ms: j.latency.p50,
    p99Ms: j.latency.p99,
    requests: j.requests.total,
    non2xx: j.non2xx,
    errors: j.errors + j.timeouts,
    seconds: j.duration,
  };
}

/** CPU seconds (user + system, every thread) a process has used so far, from /proc (Linux). */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

export interface Target extends Omit<LoadOptions, 'seconds'> {
  /** The serving process, for CPU accounting (omitted: not accounted). */
  pid?: number;
}

export interface Aggregate extends LoadResult {
  rounds: number;
  /** CPU time of the serving process per 2xx response, in microseconds (null when not accounted). */
  cpuUsPerRequest: number | null;
  /** Share of one core the serving process got while loaded. */
  cpuShare: number | null;
}

function check(o: LoadOptions, r: LoadResult): LoadResult {
  if (r.errors > 0 || r.non2xx > 0 || r.requests === 0) {
    throw new Error(`load on ${o.url.replace(/\?.*/, '?…')}: ${r.requests} requests, ${r.non2xx} non-2xx, ${r.errors} errors`);
  }
  return r;
}

/**
 * Easel against its anchor on a shared, noisy machine: both warmed up, then measured in
 * alternating rounds (A B, B A, …) so that background load falls on both alike. Totals are summed
 * over the rounds; p50/p99 are the request-weighted means of the rounds' percentiles.
 */
export async function compare(easel: Target, anchor: Target, seconds: number, warmSeconds: number): Promise<{ easel: Aggregate; anchor: Aggregate }> {
  const rounds = seconds >= 4 ? Math.round(seconds / 2) : 1;
  const per = seconds / rounds;
  if (warmSeconds > 0) {
    check(anchor as LoadOptions, await load({ ...anchor, seconds: warmSeconds }));
    check(easel as LoadOptions, await load({ ...easel, seconds: warmSeconds }));
  }
  const runs = { easel: [] as { r: LoadResult; cpu: number | null }[], anchor: [] as { r: LoadResult; cpu: number | null }[] };
  const one = async (which: 'easel' | 'anchor') => {
    const t = which === 'easel' ? easel : anchor;
    const c0 = t.pid ? cpuSeconds(t.pid) : null;
    const r = check(t as LoadOptions, await load({ ...t, seconds: per }));
    const c1 = t.pid ? cpuSeconds(t.pid) : null;
    runs[which].push({ r, cpu: c0 == null || c1 == null ? null : c1 - c0 });
  };
  for (let i = 0; i < rounds; i++) {
    for (const which of i % 2 === 0 ? (['anchor', 'easel'] as const) : (['easel', 'anchor'] as const)) await one(which);
  }
  const agg = (xs: { r: LoadResult; cpu: number | null }[]): Aggregate => {
    const sum = (f: (r: LoadResult) => number) => xs.reduce((a, x) => a + f(x.r), 0);
    const secs = sum((r) => r.seconds);
    const ok = sum((r) => r.rps * r.seconds);
    const w = (f: (r: LoadResult) => number) => xs.reduce((a, x) => a + f(x.r) * x.r.requests, 0) / Math.max(1, sum((r) => r.requests));
    const cpu = xs.every((x) => x.cpu != null) ? xs.reduce((a, x) => a + x.cpu!, 0) : null;
    return {
      rps: ok / secs,
      bytesPerSec: sum((r) => r.bytesPerSec * r.seconds) / secs,
      p50Ms: w((r) => r.p50Ms),
      p99Ms: w((r) => r.p99Ms),
      requests: sum((r) => r.requests),
      non2xx: sum((r) => r.non2xx),
      errors: sum((r) => r.errors),
      seconds: secs,
      rounds: xs.length,
      cpuUsPerRequest: cpu == null ? null : (cpu * 1e6) / Math.max(1, ok),
      cpuShare: cpu == null ? null : cpu / secs,
    };
  };
  return { easel: agg(runs.easel), anchor: agg(runs.anchor) };
}
