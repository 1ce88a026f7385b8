/*
 * The download of a finished image from the vendor's CDN, decoded before anyone sees it,
 * because Easel re-stores results and never hands a vendor URL to a client.
 */
import { JobFailure } from '../../errors.js';
import { guardedRequest, UrlRefused } from '../../net/guarded-fetch.js';
import { backoffMs } from '../../util/backoff.js';
import type { ProviderOutput } from '../port.js';
import type { Deadline } from './deadline.js';
import { malformed } from './failure.js';
import { validateVendorImage } from './image-bytes.js';

export interface ResultFetchOptions {
  deadline: Deadline;
  /** Refuse results larger than this. */
  maxBytes: number;
  /** Download attempts after the first for 5xx/429/connection failures. */
  maxRetries: number;
  retryBaseMs?: number;
  /**
   * Allow http:// and loopback result URLs — for a vendor base URL on loopback (a local fake or
   * proxy) only. Otherwise results must be https on public addresses (SSRF guard).
   */
  allowLoopbackHttp: boolean;
}

/**
 * Downloads a finished image from the URL a vendor gave us (or decodes a data: URI) and proves
 * it is an image by decoding every pixel (validateVendorImage: PNG, JPEG or WebP). Goes through
 * the SSRF guard (public addresses, https, pinned DNS, bounded redirects and size) and never
 * sends our vendor credentials: CDN URLs are public or pre-signed. Error messages never contain
 * the URL — signed URLs are secrets too.
 */
export async function fetchResultImage(vendor: string, url: string, opts: ResultFetchOptions): Promise<ProviderOutput> {
  if (typeof url !== 'string' || url === '') throw malformed(vendor, 'a result without an image URL');
  if (url.startsWith('data:')) return validateVendorImage(vendor, decodeDataUri(vendor, url));
  let last: JobFailure | null = null;
  for (let attempt = 1; attempt <= opts.maxRetries + 1; attempt++) {
    opts.deadline.check();
    try {
      const res = await opts.deadline.race(
        guardedRequest(url, { method: 'GET', headers: { accept: 'image/*' } }, {
          timeoutMs: Math.max(1, opts.deadline.remainingMs()),
          maxRedirects: 3,
          allowLoopbackHttp: opts.allowLoopbackHttp,
          signal: opts.deadline.signal,
          maxBytes: opts.maxBytes,
        }),
      );
      if (res.status >= 200 && res.status < 300) return await validateVendorImage(vendor, res.body);
      if (res.status === 429 || res.status >= 500) {
        last = new JobFailure('upstream_error', `${vendor}'s file server failed (${res.status}) while we downloaded the result.`, true);
      } else {
        // 403/404/410: the (often short-lived, signed) result URL is gone or refuses us.
        throw new JobFailure('upstream_error', `${vendor}'s result image could not be downloaded (${res.status}); the link may have expired.`, false);
      }
    } catch (e) {
      if (e instanceof JobFailure && (!e.retryable || opts.deadline.signal.aborted)) throw e;
      if (e instanceof UrlRefused) {
        if (e.reason === 'fetch_failed' || e.reason === 'dns_failed') {
          last = new JobFailure('upstream_error', `${vendor}'s file server could not be reached.`, true);
        } else if (e.reason === 'timeout') {
          throw opts.deadline.signal.aborted ? opts.deadline.failure() : new JobFailure('timeout', `${vendor}'s file server did not answer in time.`, true);
        } else if (e.reason === 'too_large') {
          throw malformed(vendor, `a result image larger than ${opts.maxBytes} bytes`);
        } else {
          throw malformed(vendor, `a result URL we do not fetch (${e.reason})`);
        }
      } else if (e instanceof JobFailure) {
        last = e;
      } else {
        throw e;
      }
    }
    if (attempt <= opts.maxRetries) await opts.deadline.sleep(backoffMs(attempt, undefined, opts.retryBaseMs ?? 250, 5000));
  }
  throw last ?? new JobFailure('upstream_error', `${vendor}'s result could not be downloaded.`, true);
}

function decodeDataUri(vendor: string, uri: string): Buffer {
  const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(uri);
  if (!m || !m[2]) throw malformed(vendor, 'a data: result that is not base64');
  return Buffer.from(m[3] ?? '', 'base64');
}
