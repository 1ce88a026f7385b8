/** Longest pause between two attempts of one delivery. */
const MAX_DELAY_MS = 3600_000;

/**
 * Delay before attempt `attempt + 1` after `attempt` failures: base · 2^(attempt−1), at most 1 h,
 * with ±20 % jitter so receivers coming back from an outage are not hit by every retry at once.
 * With the default 5 s base: 5 s, 10 s, 20 s, … 1 h, then hourly until the 24 h window closes.
 */
export function webhookRetryDelayMs(attempt: number, baseMs: number, random = Math.random): number {
  const raw = Math.min(MAX_DELAY_MS, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(1, Math.round(raw * (0.8 + 0.4 * random())));
}
