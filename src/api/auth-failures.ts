import type { FastifyRequest } from 'fastify';
import { normalizeIP } from '@fastify/rate-limit';
import type { EaselError } from '../errors.js';
import type { WindowCounter } from './rate-window.js';
import { rateLimitedError } from './rate-limited.js';

/**
 * Failed authentication per address (EASEL_AUTH_FAILURES_PER_MIN). Every 401 the auth hook would
 * answer counts against the client's address (an IPv6 address by its /64: @fastify/rate-limit's
 * normalizeIP, the grouping its limiter uses); past `max` in the window, that answer becomes 429 rate_limited with Retry-After.
 * Only failures are counted and only failures are refused: a request with a valid key is never
 * looked at here, so a NAT or proxy shared with a client stuck on a bad key keeps working.
 */
export interface AuthFailureLimit {
  counter: WindowCounter;
  max: number;
}

/** Counts this failure; the error to answer: the 401 itself, or 429 once the address is over its limit. */
export async function authFailure(limit: AuthFailureLimit | null, req: FastifyRequest, unauthorized: EaselError): Promise<EaselError> {
  if (!limit) return unauthorized;
  const w = await limit.counter.hit(normalizeIP(req.ip));
  if (!w || w.count <= limit.max) return unauthorized;
  return rateLimitedError('address', `Too many requests with a missing, unknown or revoked API key from this address: at most ${limit.max} per minute.`, limit.max, w.resetMs);
}
