import { request } from 'undici';
import { checkTarget, type Resolver } from './check-target.js';
import { probeImage } from './image-probe.js';
import { createPinnedAgent, type ConnectAttempt } from './pinned-agent.js';
import { discardBody, readLimited } from './read-limited.js';
import { UrlRefused } from './url-refused.js';

export { UrlRefused, type RefusalReason } from './url-refused.js';
export { isPublicAddress, classifyAddress, type AddressClass } from './address-policy.js';
export { checkTarget, type CheckedTarget, type Resolver, type TargetPolicy } from './check-target.js';
export type { ConnectAttempt } from './pinned-agent.js';

export interface GuardOptions {
  /** Abort and fail past this many body bytes (Content-Length first, then a running count). */
  maxBytes: number;
  /** The whole exchange: every DNS lookup, connection, redirect and body byte. */
  timeoutMs: number;
  maxRedirects: number;
  /** Test mode only: allows http:// and loopback addresses (127.0.0.0/8, ::1). Nothing else private. */
  allowLoopbackHttp: boolean;
  /** Injectable DNS; defaults to dns.promises.lookup(host, { all: true, verbatim: true }). */
  resolver?: Resolver;
  /** Caller cancellation (job canceled, shutdown); reported as the signal's own reason. */
  signal?: AbortSignal;
  /** Sees every connection attempt before it is made. */
  onConnect?: (attempt: ConnectAttempt) => void;
}

export type GuardedRequestOptions = Omit<GuardOptions, 'maxBytes'> & { maxBytes?: number };

export interface GuardedResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  finalUrl: string;
}

export interface FetchedImage {
  bytes: Buffer;
  /** From the decoded bytes, not from the server's Content-Type. */
  contentType: string;
  finalUrl: string;
  width: number;
  height: number;
  format: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DEFAULT_REQUEST_MAX_BYTES = 1024 * 1024;
// Never forwarded to a different origin than the caller addressed.
const CREDENTIAL_HEADERS = ['authorization', 'cookie', 'proxy-authorization'];

/** Downloads an image from a client-supplied URL and proves by decoding that it is one. */
export async function fetchImageGuarded(url: string, opts: GuardOptions): Promise<FetchedImage> {
  const res = await exchange(url, { method: 'GET', headers: { accept: 'image/*' } }, opts, opts.maxBytes);
  if (res.status < 200 || res.status > 299) {
    throw new UrlRefused('http_status', `The URL answered with HTTP ${res.status}.`);
  }
  const image = await probeImage(res.body);
  return { bytes: res.body, finalUrl: res.finalUrl, ...image };
}

/**
 * Any request to a client-supplied URL (webhook deliveries): the same scheme, address, redirect,
 * size and time limits as image downloads, but any status is returned rather than refused.
 * 307/308 replay method and body; 301/302/303 continue as a body-less GET, like browsers do.
 */
export async function guardedRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer },
  opts: GuardedRequestOptions,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const res = await exchange(url, init, opts, opts.maxBytes ?? DEFAULT_REQUEST_MAX_BYTES);
  return { status: res.status, headers: res.headers, body: res.body };
}

async function exchange(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: string | Buffer },
  opts: GuardedRequestOptions,
  maxBytes: number,
): Promise<GuardedResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  let method = init.method.toUpperCase();
  let body = init.body;
  // The Host header must come from the checked URL; identity encoding keeps byte counts honest
  // (no decompression bombs) and means what we count is what we hand on.
  let headers = withoutHeaders(init.headers ?? {}, ['host', 'accept-encoding']);
  headers['accept-encoding'] = 'identity';
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      const target = await checkTarget(current, opts, signal);
      const agent = createPinnedAgent(target, { connectTimeoutMs: opts.timeoutMs, onConnect: opts.onConnect });
      try {
        const res = await request(target.url, { method: method as 'GET', headers, body, signal, dispatcher: agent });
        const location = single(res.headers.location);
        if (REDIRECTS.has(res.statusCode) && location !== undefined) {
          discardBody(res.body);
          if (hop >= opts.maxRedirects) {
            throw new UrlRefused('too_many_redirects', `The URL redirected more than ${opts.maxRedirects} times.`);
          }
          let next: URL;
          try {
            next = new URL(location, target.url);
          } catch {
            throw new UrlRefused('bad_url', 'The URL redirected to an unparseable location.');
          }
          if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
            if (method !== 'HEAD') method = 'GET';
            body = undefined;
            headers = withoutHeaders(headers, ['content-type', 'content-length']);
          }
          if (next.origin !== target.url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
          current = next.href;
          continue;
        }
        const bytes = await readLimited(res.body, maxBytes, res.headers['content-length']);
        return { status: res.statusCode, headers: flatten(res.headers), body: bytes, finalUrl: target.url.href };
      } finally {
        agent.destroy().catch(() => {});
      }
    }
  } catch (e) {
    throw asRefusal(e, timeout, opts.signal);
  }
}

function asRefusal(e: unknown, timeout: AbortSignal, callerSignal: AbortSignal | undefined): unknown {
  if (e instanceof UrlRefused) return e;
  // Checked before the caller's signal: a timeout is ours to report, a cancellation is theirs.
  if (timeout.aborted) return new UrlRefused('timeout', 'The URL did not answer in time.', { cause: e });
  if (callerSignal?.aborted) return e;
  const code = (e as { code?: unknown })?.code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new UrlRefused('timeout', 'The URL did not answer in time.', { cause: e });
  }
  return new UrlRefused('fetch_failed', `The URL could not be fetched${typeof code === 'string' ? ` (${code})` : ''}.`, { cause: e });
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function flatten(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function withoutHeaders(h: Record<string, string>, names: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (!names.includes(k.toLowerCase())) out[k] = v;
  return out;
}
