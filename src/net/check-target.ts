import dns from 'node:dns';
import net from 'node:net';
import { isAllowedAddress } from './address-policy.js';
import { UrlRefused } from './url-refused.js';

export type Resolver = (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;

export interface TargetPolicy {
  /** Test mode only: allows http:// and loopback addresses. Every other private range stays refused. */
  allowLoopbackHttp: boolean;
  resolver?: Resolver;
}

/** A URL that passed every check, with the one address the connection must go to. */
export interface CheckedTarget {
  url: URL;
  /** URL hostname without IPv6 brackets; what undici will hand the connector. */
  host: string;
  port: number;
  address: string;
  family: 4 | 6;
}

const MAX_URL_LENGTH = 8192;

const defaultResolver: Resolver = async (host) => {
  const all = await dns.promises.lookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

/**
 * Parses the URL and resolves its host exactly once. Every resolved address must be allowed:
 * refusing only when the *first* one is private would let a hostname with one public and one
 * private record through whenever the connection falls back. The returned address is what the
 * connection is pinned to, so a second, different DNS answer (rebinding) can never be used.
 */
export async function checkTarget(rawUrl: string, policy: TargetPolicy, signal?: AbortSignal): Promise<CheckedTarget> {
  if (typeof rawUrl !== 'string' || rawUrl.length > MAX_URL_LENGTH) throw new UrlRefused('bad_url', 'The URL is missing or too long.');
  let url: URL;
  try {
    // WHATWG parsing turns 2130706433, 0x7f000001, 0177.0.0.1 and 127.1 into 127.0.0.1 and
    // compresses IPv6, so the checks below only ever see canonical spellings.
    url = new URL(rawUrl);
  } catch {
    throw new UrlRefused('bad_url', 'The URL could not be parsed.');
  }
  if (!(url.protocol === 'https:' || (url.protocol === 'http:' && policy.allowLoopbackHttp))) {
    throw new UrlRefused('scheme', 'Only https:// URLs are accepted.');
  }
  if (url.username !== '' || url.password !== '') {
    throw new UrlRefused('credentials', 'URLs must not contain a user name or password.');
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '') throw new UrlRefused('bad_url', 'The URL has no host.');
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;

  const literal = net.isIP(host);
  const addresses = literal !== 0 ? [{ address: host, family: literal }] : await resolve(host, policy.resolver ?? defaultResolver, signal);
  if (addresses.length === 0) throw new UrlRefused('dns_failed', 'The URL host did not resolve.');
  for (const a of addresses) {
    if (!isAllowedAddress(a.address, policy.allowLoopbackHttp)) {
      throw new UrlRefused('private_address', 'The URL points to a private or reserved network address.');
    }
  }
  const pinned = addresses[0]!;
  // Trust the address itself for the family, not the resolver's label for it.
  return { url, host, port, address: pinned.address, family: net.isIP(pinned.address) === 6 ? 6 : 4 };
}

async function resolve(host: string, resolver: Resolver, signal?: AbortSignal): Promise<{ address: string; family: number }[]> {
  // dns.lookup cannot be cancelled; racing it keeps the overall timeout honest.
  signal?.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([resolver(host), aborted]);
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new UrlRefused('dns_failed', 'The URL host did not resolve.', { cause: e });
  } finally {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
