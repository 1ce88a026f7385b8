/** Exponential backoff with full jitter, capped; a vendor's Retry-After wins when it asks for longer. */
export function backoffMs(attempt: number, retryAfterMs?: number, baseMs = 500, capMs = 60_000): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = Math.round(exp / 2 + Math.random() * (exp / 2));
  return Math.max(jittered, retryAfterMs ?? 0);
}
