/*
 * Which URLs an adapter trusts: vendor-given URLs that may receive our key, and loopback base
 * URLs (local fakes, proxies) whose results may come over plain http.
 */
import net from 'node:net';

/**
 * Whether a URL the vendor handed us (status, polling, cancel URLs) may receive our key: same
 * scheme and host as the configured base URL, or a sibling host under the base's parent domain
 * (BFL answers with regional polling hosts such as api.eu1.bfl.ai for base api.bfl.ai).
 */
export function vendorOwnsUrl(baseUrl: string, url: unknown): url is string {
  if (typeof url !== 'string') return false;
  let b: URL;
  let u: URL;
  try {
    b = new URL(baseUrl);
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== b.protocol || u.username !== '' || u.password !== '') return false;
  if (u.host === b.host) return true;
  const labels = b.hostname.split('.');
  if (net.isIP(b.hostname) !== 0 || labels.length < 3 || u.port !== b.port) return false;
  return u.hostname.endsWith(`.${labels.slice(-2).join('.')}`);
}

/** http(s) base URL on a loopback host: results may then come from loopback over http too. */
export function isLoopbackBase(baseUrl: string): boolean {
  try {
    const u = new URL(baseUrl);
    return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(u.hostname) || /^127\./.test(u.hostname);
  } catch {
    return false;
  }
}
