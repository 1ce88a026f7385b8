import net from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses a client-supplied URL may make us connect to. The policy is an allow-list:
 * only what ipaddr.js calls plain 'unicast' (and, for IPv6, only inside 2000::/3) is public.
 * Everything else, including ranges we never thought about, is refused.
 */
export type AddressClass = 'public' | 'loopback' | 'blocked';

// Already covered by ipaddr.js ranges today; listed again so that a future reclassification
// in that library can never silently open the cloud metadata endpoints or carrier-grade NAT.
const EXTRA_BLOCKED_V4: [ipaddr.IPv4, number][] = [
  [ipaddr.IPv4.parse('169.254.169.254'), 32],
  [ipaddr.IPv4.parse('100.64.0.0'), 10],
  [ipaddr.IPv4.parse('0.0.0.0'), 8],
];
const EXTRA_BLOCKED_V6: [ipaddr.IPv6, number][] = [
  [ipaddr.IPv6.parse('fd00:ec2::254'), 128],
  // NAT64 prefixes: on a NAT64 network 64:ff9b::a00:1 reaches 10.0.0.1.
  [ipaddr.IPv6.parse('64:ff9b::'), 96],
  [ipaddr.IPv6.parse('64:ff9b:1::'), 48],
];
// IANA global unicast. Outside it sit the deprecated IPv4-compatible ::a.b.c.d form (which
// ipaddr.js calls 'unicast') and unallocated space; nothing a public image host resolves to.
const GLOBAL_UNICAST_V6: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];

export function classifyAddress(ip: string): AddressClass {
  // net.isIP is strict (no octal, hex or short IPv4); anything it rejects is not an address we
  // would connect to by that spelling, so fail closed. Zone ids only make sense for link-local.
  const family = net.isIP(ip);
  if (family === 0 || ip.includes('%')) return 'blocked';
  // ipaddr.js reads the deprecated IPv4-compatible form ::a.b.c.d as if it were the mapped form
  // ::ffff:a.b.c.d, so dotted-quad tails are first rewritten to hex by the WHATWG URL parser,
  // the same one that normalises hosts in URLs.
  let addr: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(family === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip);
  // ::ffff:a.b.c.d is the IPv4 host a.b.c.d on a dual-stack socket, so judge the IPv4 address.
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
  }
  if (addr.kind() === 'ipv4') {
    const v4 = addr as ipaddr.IPv4;
    const range = v4.range();
    if (range === 'loopback') return 'loopback';
    if (range !== 'unicast') return 'blocked';
    return EXTRA_BLOCKED_V4.some((r) => v4.match(r)) ? 'blocked' : 'public';
  }
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'loopback') return 'loopback';
  // 6to4, Teredo, NAT64 and IPv4-translated forms are not 'unicast' and are refused outright
  // rather than judged by their embedded IPv4: relays decide where they really go.
  if (range !== 'unicast') return 'blocked';
  if (!v6.match(GLOBAL_UNICAST_V6)) return 'blocked';
  return EXTRA_BLOCKED_V6.some((r) => v6.match(r)) ? 'blocked' : 'public';
}

/** True only for an address on the public Internet (canonical IPv4 or IPv6 spelling). */
export function isPublicAddress(ip: string): boolean {
  return classifyAddress(ip) === 'public';
}

/** Loopback is only ever allowed in test mode, where the "remote" server runs on this host. */
export function isAllowedAddress(ip: string, allowLoopback: boolean): boolean {
  const c = classifyAddress(ip);
  return c === 'public' || (allowLoopback && c === 'loopback');
}
