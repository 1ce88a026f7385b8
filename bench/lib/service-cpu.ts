/**
 * Where a scale-out run's CPU goes on this one machine: the Easel process, PostgreSQL (every
 * process of the cluster: backends, WAL writer, autovacuum), Swift (its servers and their workers,
 * memcached) and the whole machine (/proc/stat). Read-only accounting of the processes by name —
 * nothing is signalled. On a real deployment PostgreSQL and S3 run elsewhere; here they share the
 * same cores as the server and the anchor does not, which is what the throughput row must show.
 */
import fs from 'node:fs';

const CLOCK_TICKS = 100;

export interface CpuSnapshot {
  /** CPU seconds by group (processes alive at the snapshot). */
  pg: number;
  swift: number;
  /** Machine-wide busy CPU seconds (all cores), and elapsed wall seconds. */
  machineBusy: number;
  at: number;
}

function procCpu(pid: string): { comm: string; cpu: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { comm, cpu: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

function isSwift(pid: string, comm: string): boolean {
  if (comm === 'memcached') return true;
  if (!/^(python|swift)/.test(comm)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('swift-');
  } catch {
    return false;
  }
}

function machineBusySeconds(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy = all but idle and iowait.
  const busy = v.reduce((a, b) => a + b, 0) - (v[3] ?? 0) - (v[4] ?? 0);
  return busy / CLOCK_TICKS;
}

export function cpuSnapshot(): CpuSnapshot {
  let pg = 0;
  let swift = 0;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const p = procCpu(pid);
    if (!p) continue;
    if (p.comm === 'postgres' || p.comm.startsWith('postgres:')) pg += p.cpu;
    else if (isSwift(pid, p.comm)) swift += p.cpu;
  }
  return { pg, swift, machineBusy: machineBusySeconds(), at: performance.now() };
}

/** CPU seconds of each group between two snapshots (processes that ended meanwhile are not counted). */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): { pg: number; swift: number; machineBusy: number; wallS: number } {
  return { pg: Math.max(0, b.pg - a.pg), swift: Math.max(0, b.swift - a.swift), machineBusy: b.machineBusy - a.machineBusy, wallS: (b.at - a.at) / 1000 };
}
