/**
 * Fault injection for crash tests and chaos runs: EASEL_CRASH_AT="point" or "point:N" SIGKILLs
 * this process the Nth time (default 1st) execution reaches that named point. Points are named
 * where a crash is most dangerous (between a side effect and the record of it).
 */
let spec: { point: string; nth: number } | null = null;
const hits = new Map<string, number>();

export function configureCrashPoints(value: string | null): void {
  if (!value) {
    spec = null;
    return;
  }
  const [point, nth] = value.split(':');
  spec = { point: point!, nth: nth ? Number(nth) : 1 };
}

export function crashPoint(name: string): void {
  if (!spec || spec.point !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n === spec.nth) {
    process.stderr.write(`easel: crash point "${name}" reached (hit ${n}); killing process ${process.pid}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
