import fs from 'node:fs';

export interface VendorConfig {
  vendor: string;
  apiKey: string | null;
  baseUrl: string;
  timeoutMs: number;
  maxConcurrency: number;
  maxRetries: number;
  /** The env var that holds the key, named in operator-facing errors (never the key itself). */
  apiKeyVar: string;
}

let secretsCache: Record<string, string> | null = null;

/** Secrets come from the environment or from the JSON file named by EASEL_SECRETS_FILE — nowhere else. */
function secret(name: string): string | null {
  if (process.env[name]) return process.env[name]!;
  const file = process.env.EASEL_SECRETS_FILE;
  if (!file) return null;
  secretsCache ??= JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  return secretsCache[name] ?? null;
}

function num(name: string, def: number): number {
  const v = process.env[name];
  if (!v) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer`);
  return n;
}

/** `EASEL_<VENDOR>_API_KEY`, `_BASE_URL`, `_TIMEOUT_MS`, `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function vendorConfig(vendor: string, defaults: { baseUrl: string; timeoutMs?: number; maxConcurrency?: number }): VendorConfig {
  const p = `EASEL_${vendor.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
  return {
    vendor,
    apiKey: secret(`${p}_API_KEY`),
    apiKeyVar: `${p}_API_KEY`,
    baseUrl: (process.env[`${p}_BASE_URL`] || defaults.baseUrl).replace(/\/+$/, ''),
    timeoutMs: num(`${p}_TIMEOUT_MS`, defaults.timeoutMs ?? 120_000),
    maxConcurrency: Math.max(1, num(`${p}_MAX_CONCURRENCY`, defaults.maxConcurrency ?? 4)),
    maxRetries: num(`${p}_MAX_RETRIES`, 2),
  };
}
