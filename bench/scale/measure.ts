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

/**
 * /metrics keeps what it read from the store for 5 s: each timed scrape comes after that cache
 * expired, so every sample pays the store reads a cold scrape pays.
 */
export async function timeColdScrapes(url: string, n: number): Promise<Cost> {
  const times: number[] = [];
  for (let i = 0; i < n + 1; i++) {
    await new Promise((r) => setTimeout(r, 5_100));
    const t0 = performance.now();
    const r = await fetch(url);
    await r.arrayBuffer();
    const ms = performance.now() - t0;
    if (!r.ok) throw new Error(`${url} → ${r.status}`);
    if (i > 0) times.push(ms);
  }
  return { medianMs: percentile(times, 0.5), p95Ms: percentile(times, 0.95), samples: times.length };
}
