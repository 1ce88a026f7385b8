import { request } from 'undici';
import { callTimeout } from './call-timeout.js';
import { JobFailure } from '../../errors.js';
import { backoffMs } from '../../util/backoff.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { VendorConfig } from './config.js';
import { malformed, parseRetryAfter, vendorHttpFailure } from './failure.js';

export interface VendorCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** A path under the vendor's base URL, or an absolute URL the vendor gave us (polling URLs). */
  url: string;
  headers?: Record<string, string>;
  json?: unknown;
  body?: Buffer | string;
  signal?: AbortSignal;
}

export interface VendorResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * One HTTP call to a vendor with the shared policy: per-call timeout, bounded retries with
 * jittered backoff that honours Retry-After, the vendor's circuit breaker, and failures mapped
 * to Easel's codes. Error messages name the vendor and status, never a URL with a key or a secret.
 */
export async function vendorFetch(cfg: VendorConfig, breaker: CircuitBreaker, call: VendorCall, opts: { retryBaseMs?: number } = {}): Promise<VendorResponse> {
  const url = /^https?:\/\//.test(call.url) ? call.url : `${cfg.baseUrl}${call.url.startsWith('/') ? '' : '/'}${call.url}`;
  const headers: Record<string, string> = { ...(call.headers ?? {}) };
  let body = call.body;
  if (call.json !== undefined) {
    body = JSON.stringify(call.json);
    headers['content-type'] ??= 'application/json';
  }
  let lastFailure: JobFailure | null = null;
  for (let attempt = 1; attempt <= cfg.maxRetries + 1; attempt++) {
    breaker.admit();
    try {
      const deadline = callTimeout(cfg.timeoutMs, call.signal);
      let res: Awaited<ReturnType<typeof request>>;
      let buf: Buffer;
      try {
        res = await request(url, { method: call.method, headers, body, signal: deadline.signal, maxRedirections: 0 } as Parameters<typeof request>[1]);
        buf = Buffer.from(await res.body.arrayBuffer());
      } finally {
        deadline.release();
      }
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
      if (res.statusCode < 400) {
        breaker.success();
        return { status: res.statusCode, headers: h, body: buf };
      }
      const failure = vendorHttpFailure(cfg.vendor, res.statusCode, parseRetryAfter(h['retry-after']));
      if (!failure.retryable) {
        // A definite answer (bad request, bad credentials) says nothing about the vendor's health.
        breaker.success();
        throw Object.assign(failure, { vendorStatus: res.statusCode, vendorBody: buf.subarray(0, 2000).toString('utf8') });
      }
      breaker.failure();
      lastFailure = failure;
    } catch (e) {
      if (e instanceof JobFailure && !e.retryable) throw e;
      if (e instanceof JobFailure && e.code === 'provider_unavailable') throw e; // circuit open
      if (call.signal?.aborted) {
        breaker.release();
        throw new JobFailure('timeout', `${cfg.vendor} call aborted.`, true);
      }
      if (!(e instanceof JobFailure)) {
        breaker.failure();
        const timedOut = (e as Error).name === 'TimeoutError' || (e as Error).name === 'AbortError';
        lastFailure = new JobFailure(timedOut ? 'timeout' : 'upstream_error', timedOut ? `${cfg.vendor} did not answer within ${cfg.timeoutMs} ms.` : `${cfg.vendor} could not be reached.`, true);
      } else {
        lastFailure = e;
      }
    }
    if (attempt <= cfg.maxRetries) {
      await new Promise((r) => setTimeout(r, backoffMs(attempt, lastFailure?.retryAfterMs, opts.retryBaseMs ?? 250, 10_000)));
    }
  }
  throw lastFailure ?? new JobFailure('upstream_error', `${cfg.vendor} failed.`, true);
}

export function parseJson<T>(vendor: string, res: VendorResponse): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch {
    throw malformed(vendor, 'a response that is not JSON');
  }
}
