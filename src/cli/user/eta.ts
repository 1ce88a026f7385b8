/** "42s", "3m07s". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  return t >= 60 ? `${Math.floor(t / 60)}m${String(t % 60).padStart(2, '0')}s` : `${t}s`;
}

/**
 * The ETA from a job's `progress.fraction`: time per fraction done since we first saw progress,
 * times what is left. A retried attempt starts again from 0, so the clock restarts when the
 * fraction drops.
 */
export function fractionEta(): (fraction: number) => string {
  let t0 = 0;
  let f0 = -1;
  return (f) => {
    if (f0 < 0 || f < f0) {
      t0 = Date.now();
      f0 = f;
    }
    if (f >= 1) return '0s';
    if (f <= f0) return '--';
    return formatSeconds((((Date.now() - t0) / (f - f0)) * (1 - f)) / 1000);
  };
}
