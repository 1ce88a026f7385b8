/*
 * vendorFetch's policy (timeout, retries with backoff and Retry-After, circuit breaker, failure
 * mapping) for a call whose answer is read as it arrives (OpenAI's image streaming): retried only
 * until the vendor says yes; once a 2xx has begun, the body belongs to the caller.
 */
import { request } from 'undici';
import { JobFailure } from '../../errors.js';
import { backoffMs } from '../../util/backoff.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { VendorConfig } from './config.js';
import { parseRetryAfter, vendorHttpFailure } from './failure.js';
import type { VendorCall } from './http.js';
import { callTimeout } from './call-timeout.js';

export interface VendorStream {
  status: number;
  headers: Record<string, string>;
  /** The undici body: read it to the end, or let the call's signal end it. */
  body: AsyncIterable<Buffer> & { text(): Promise<string> };
}

/**
 * Opens `call` and returns as soon as the vendor answers a status below 400. cfg.timeoutMs
 * bounds the whole exchange, body included (a stream that stalls ends as a timeout). A 4xx/5xx
 * answers exactly like vendorFetch (same codes; definite answers keep `vendorStatus` and
 * `vendorBody` for the adapter's own mapping).
 */
export async function vendorStream(cfg: VendorConfig, breaker: CircuitBreaker, call: VendorCall, opts: { retryBaseMs?: number } = {}): Promise<VendorStream> {
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
      try {
        res = await request(url, { method: call.method, headers, body, signal: deadline.signal, maxRedirections: 0 } as Parameters<typeof request>[1]);
      } catch (e) {
        deadline.release();
        throw e;
      }
      const h: Record<string, string> = {};
      for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h[k] = v;
      if (res.statusCode < 400) {
        breaker.success();
        // The deadline keeps running while the caller reads; it is released when the body closes.
        res.body.once('close', deadline.release);
        return { status: res.statusCode, headers: h, body: res.body as VendorStream['body'] };
      }
      deadline.release();
      const buf = Buffer.from(await res.body.arrayBuffer());
      const failure = vendorHttpFailure(cfg.vendor, res.statusCode, parseRetryAfter(h['retry-after']));
      if (!failure.retryable) {
        breaker.success();
        throw Object.assign(failure, { vendorStatus: res.statusCode, vendorBody: buf.subarray(0, 2000).toString('utf8') });
      }
      breaker.failure();
      lastFailure = failure;
    } catch (e) {
      if (e instanceof JobFailure && !e.retryable) throw e;
      if (e instanceof JobFailure && e.code === 'provider_unavailable') throw e;
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

