import crypto from 'node:crypto';
import type { VendorConfig } from '../providers/vendor/config.js';

/** One endpoint of a catalogue model's `endpoints` list (or of an env list), before it is a backend. */
export interface EndpointConfig {
  url: string;
  maxConcurrency?: number;
  weight?: number;
  labels?: Record<string, string>;
  /** A hosted vendor's pool is one endpoint per API key. */
  apiKey?: string | null;
}

/** Several comma-separated values of one env setting ("http://gpu1:8188,http://gpu2:8188"). */
export function splitList(v: string | null): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The endpoints a vendor config names: several base URLs (self-hosted) or several API keys (hosted); one = no pool. */
export function endpointsOf(cfg: VendorConfig, hosted: boolean): EndpointConfig[] {
  if (hosted) {
    const keys = splitList(cfg.apiKey);
    return keys.length > 1 ? keys.map((apiKey) => ({ url: cfg.baseUrl, apiKey })) : [];
  }
  const urls = splitList(cfg.baseUrl);
  return urls.length > 1 ? urls.map((url) => ({ url: url.replace(/\/+$/, '') })) : [];
}

/** Stable id of a backend across processes and restarts; a key enters only as a hash prefix. */
export function backendId(vendor: string, url: string, apiKey: string | null | undefined): string {
  const h = crypto.createHash('sha256').update(`${vendor}\n${url}\n${apiKey ?? ''}`).digest('hex').slice(0, 16);
  return `${vendor.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${h}`;
}

/** How a backend is shown: its address, and for a key pool which key (by a short hash, never the key). */
export function backendLabel(url: string, apiKey: string | null | undefined, hosted: boolean): string {
  if (!hosted || !apiKey) return url;
  return `${url} (key …${crypto.createHash('sha256').update(apiKey).digest('hex').slice(0, 8)})`;
}
