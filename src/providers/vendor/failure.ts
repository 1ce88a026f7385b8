import { JobFailure } from '../../errors.js';

/**
 * One failure mapping for every vendor adapter, so a client sees the same codes whoever served it:
 *   429, 5xx, timeouts, connection errors → retryable `upstream_error` (retried with backoff)
 *   401/403 (our credentials or account at the vendor) → `provider_unavailable` (HTTP 503), for the operator
 *   a safety block → `content_rejected` (HTTP 403), saying whether the input or the output was blocked
 *   anything malformed → `upstream_error`, never a crash
 */
export function vendorHttpFailure(vendor: string, status: number, retryAfterMs?: number): JobFailure {
  if (status === 429) return new JobFailure('upstream_error', `${vendor} is rate limiting us (429).`, true, retryAfterMs);
  if (status >= 500) return new JobFailure('upstream_error', `${vendor} failed (${status}).`, true, retryAfterMs);
  if (status === 401 || status === 403) {
    return new JobFailure('provider_unavailable', `${vendor} refused our credentials (${status}); the operator must check its API key and account.`, false);
  }
  if (status === 408) return new JobFailure('timeout', `${vendor} timed out (408).`, true, retryAfterMs);
  return new JobFailure('upstream_error', `${vendor} rejected the request (${status}).`, false);
}

export function safetyBlocked(vendor: string, stage: 'input' | 'output', reason?: string): JobFailure {
  return new JobFailure(
    'content_rejected',
    `${vendor}'s safety system blocked the ${stage === 'input' ? 'prompt or input images' : 'generated image'}${reason ? ` (${reason})` : ''}. Nothing was charged.`,
    false,
    undefined,
    { blocked: stage },
  );
}

export function malformed(vendor: string, what: string): JobFailure {
  return new JobFailure('upstream_error', `${vendor} answered something we could not understand: ${what}.`, false);
}

export function notConfigured(vendor: string, envVar: string): JobFailure {
  return new JobFailure('provider_unavailable', `${vendor} is not configured: set ${envVar}.`, false);
}

/** Retry-After as seconds or an HTTP date → milliseconds (capped: a vendor cannot park a job for hours). */
export function parseRetryAfter(value: string | null | undefined, capMs = 120_000): number | undefined {
  if (!value) return undefined;
  const s = Number(value);
  const ms = Number.isFinite(s) ? s * 1000 : Date.parse(value) - Date.now();
  return Number.isFinite(ms) && ms >= 0 ? Math.min(ms, capMs) : undefined;
}
