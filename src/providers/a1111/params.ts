/**
 * The resolved parameters of an AUTOMATIC1111 generation (issue 22, reproducibility). The answer's
 * `info` is a JSON string of processing.py's Processed.js(): seed (the one used, also when -1 asked
 * for a random one), steps, sampler_name, cfg_scale, sd_model_name (the checkpoint's name without
 * extension) and sd_model_hash (its short hash, which pins the exact weights: vendor_version).
 * What `info` does not say falls back to what the adapter sent.
 */
import type { ProviderParams } from '../port.js';

export function reportedParams(info: unknown, sent: Record<string, unknown>, vendorModel: string): ProviderParams {
  let i: Record<string, unknown> = {};
  if (typeof info === 'string') {
    try {
      const parsed: unknown = JSON.parse(info);
      if (isObject(parsed)) i = parsed;
    } catch {
      // unreadable info: what we sent is all we know
    }
  } else if (isObject(info)) {
    i = info; // some forks answer an object
  }
  const out: ProviderParams = {};
  const model = str(i.sd_model_name) ?? (vendorModel || undefined);
  if (model) out.vendor_model = model;
  const hash = str(i.sd_model_hash);
  if (hash) out.vendor_version = hash;
  const seed = int(i.seed) ?? int(sent.seed);
  if (seed !== undefined) out.seed = seed;
  const steps = int(i.steps) ?? int(sent.steps);
  if (steps !== undefined) out.steps = steps;
  const sampler = str(i.sampler_name) ?? str(sent.sampler_name);
  if (sampler) out.sampler = sampler;
  const guidance = num(i.cfg_scale) ?? num(sent.cfg_scale);
  if (guidance !== undefined) out.guidance = guidance;
  return out;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function int(v: unknown): number | undefined {
  return Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
