import type { CircuitBreaker } from './circuit-breaker.js';
import type { VendorConfig } from './config.js';
import type { Deadline } from './deadline.js';
import { malformed } from './failure.js';
import { parseJson, vendorFetch, type VendorCall } from './http.js';

/** vendorFetch (retries, Retry-After, breaker) inside the deadline, answer parsed as a JSON object. */
export async function callJson<T extends object>(
  cfg: VendorConfig,
  breaker: CircuitBreaker,
  deadline: Deadline,
  call: Omit<VendorCall, 'signal'>,
  retryBaseMs?: number,
): Promise<{ status: number; headers: Record<string, string>; json: T }> {
  const res = await deadline.race(vendorFetch(cfg, breaker, { ...call, signal: deadline.signal }, { retryBaseMs }));
  const json = parseJson<T>(cfg.vendor, res);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw malformed(cfg.vendor, 'a JSON answer that is not an object');
  return { status: res.status, headers: res.headers, json };
}
