import type { LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import type { CheckedTarget } from './check-target.js';
import { UrlRefused } from './url-refused.js';

/** One outgoing TCP connection attempt, as the connector is about to make it. */
export interface ConnectAttempt {
  address: string;
  port: number;
  /** The URL host the request is for (Host header and TLS SNI). */
  host: string;
  protocol: string;
}

export interface PinnedAgentOptions {
  connectTimeoutMs: number;
  /** Sees every connection attempt before it is made (logging, tests). */
  onConnect?: (attempt: ConnectAttempt) => void;
  /** Extra trust anchors; only tests need this. */
  ca?: string | Buffer;
}

/**
 * An undici Agent that can reach exactly one origin at exactly one pre-checked address.
 *
 * undici computes the Host header and TLS SNI from the request's origin, and hands the connector
 * `hostname` separately. We swap `hostname` for the checked IP, so net/tls connect to an IP
 * literal and never do a DNS lookup of their own; SNI and certificate verification still use the
 * original host name (undici derives `servername` from `host`, which we leave alone). The lookup
 * override is a second lock: should anything ever ask for a lookup, the only answer is the
 * pinned address. It cannot be the only lock, because Node skips `lookup` for IP literals.
 *
 * Use one agent per hop and destroy it afterwards, so no pooled socket outlives its check.
 */
export function createPinnedAgent(target: CheckedTarget, opts: PinnedAgentOptions): Agent {
  const pinnedLookup = ((_hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  }) as unknown as LookupFunction;
  const base = buildConnector({
    timeout: opts.connectTimeoutMs,
    lookup: pinnedLookup,
    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
  });
  return new Agent({
    connect: (options, callback) => {
      const port = options.port !== '' && options.port !== undefined ? Number(options.port) : options.protocol === 'https:' ? 443 : 80;
      // The agent was built for one checked origin; anything else would bypass the checks.
      if (options.hostname !== target.host || port !== target.port || options.protocol !== target.url.protocol) {
        callback(new UrlRefused('private_address', 'Connection to an unchecked origin refused.'), null);
        return;
      }
      opts.onConnect?.({ address: target.address, port, host: target.host, protocol: options.protocol });
      base({ ...options, hostname: target.address }, callback);
    },
  });
}
