import { EaselError } from '../errors.js';
import { rateLimited } from '../observability/metrics.js';

/** Which request limit refused a request (details.limit_scope, and the metric's label). */
export type LimitScope = 'key' | 'account' | 'address';

/**
 * The one 429 of every request limit: rate_limited, Retry-After, and the X-RateLimit-* headers of
 * the limit that refused (every counted answer carries the key's three: src/api/request-limits.ts).
 */
export function rateLimitedError(scope: LimitScope, message: string, limit: number, resetMs: number): EaselError {
  rateLimited.inc({ limit: scope });
  const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
  return new EaselError(
    429,
    'rate_limited',
    `${message} Retry in ${retryAfter} s.`,
    { limit, window_s: 60, retry_after_s: retryAfter, limit_scope: scope },
    { 'retry-after': String(retryAfter), 'x-ratelimit-limit': String(limit), 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(retryAfter) },
  );
}
