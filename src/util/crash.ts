/**
 * Fault injection for crash tests and chaos runs: EASEL_CRASH_AT="point" or "point:N" signals
 * this process the Nth time (default 1st) execution reaches that named point. Points are named
 * where a crash is most dangerous (between a side effect and the record of it). The signal is
 * SIGKILL (a crash), or SIGSTOP with EASEL_CRASH_SIGNAL=SIGSTOP: the process freezes there, as a
 * worker does in a long GC pause or a suspended VM, until someone sends it SIGCONT.
 */
let spec: { point: string; nth: number; signal: 'SIGKILL' | 'SIGSTOP' } | null = null;
const hits = new Map<string, number>();

export function configureCrashPoints(value: string | null, signal: string | null = null): void {
  if (!value) {
    spec = null;
    return;
  }
  const [point, nth] = value.split(':');
  spec = { point: point!, nth: nth ? Number(nth) : 1, signal: signal === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL' };
}

export function crashPoint(name: string): void {
  if (!spec || spec.point !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n === spec.nth) {
    process.stderr.write(`easel: crash point "${name}" reached (hit ${n}); sending ${spec.signal} to process ${process.pid}\n`);
    process.kill(process.pid, spec.signal);
  }
}
