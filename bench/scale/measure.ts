/** Per-request costs over real HTTP on loopback: sequential requests, one keep-alive connection, medians. */
import { percentile } from '../fair-dispatch.js';

export interface Cost {
  medianMs: number;
  p95Ms: number;
  samples: number;
  /** Every timed sample (ms), for merging rounds. */
  times?: number[];
}

export function costOf(times: number[]): Cost {
  return { medianMs: percentile(times, 0.5), p95Ms: percentile(times, 0.95), samples: times.length };
}

export async function timeRequests(url: string, headers: Record<string, string>, n: number, warmup = Math.min(30, n)): Promise<Cost> {
  const times: number[] = [];
  for (let i = 0; i < warmup + n; i++) {
    const t0 = performance.now();
    const r = await fetch(url, { headers });
    await r.arrayBuffer();
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`${url} → ${r.status}`);
    if (i >= warmup) times.push(ms);
  }
  return { ...costOf(times), times };
}
