import { EaselError, validationFailed } from '../errors.js';
import { METADATA_KEY_PATTERN, METADATA_LIMITS, RETENTION_DAYS_MAX } from '../contract/job-options.js';
import { eurToMicros, microsToEur } from '../util/money.js';

/** The job options of a create request (src/contract/job-options.ts), parsed. */
export interface JobOptions {
  maxCostMicros?: number;
  metadata?: Record<string, string>;
  retentionDays?: number;
  priority?: 'low' | 'normal' | 'high';
}

const OPTION_KEYS = ['max_cost_eur', 'metadata', 'retention_days', 'priority'] as const;

/**
 * Takes the job options out of a (schema-validated) body, so the rest can be stored as the
 * operation's request. Multipart forms give strings: metadata as JSON, retention as digits.
 */
export function takeJobOptions(body: Record<string, unknown>): { options: JobOptions; rest: Record<string, unknown> } {
  const rest = { ...body };
  for (const k of OPTION_KEYS) delete rest[k];
  const options: JobOptions = {};
  if (body.max_cost_eur !== undefined && body.max_cost_eur !== null) {
    const v = body.max_cost_eur;
    options.maxCostMicros = typeof v === 'number' ? Math.round(v * 1_000_000) : eurToMicros(String(v));
  }
  if (body.priority === 'low' || body.priority === 'normal' || body.priority === 'high') options.priority = body.priority;
  if (body.metadata !== undefined && body.metadata !== null) options.metadata = parseMetadata(body.metadata);
  if (body.retention_days !== undefined && body.retention_days !== null) {
    const d = Number(body.retention_days);
    if (!Number.isInteger(d) || d < 1 || d > RETENTION_DAYS_MAX) throw validationFailed(`retention_days: must be 1–${RETENTION_DAYS_MAX}.`, { fields: [{ path: 'retention_days', message: `must be 1–${RETENTION_DAYS_MAX}` }] });
    options.retentionDays = d;
  }
  return { options, rest };
}

function parseMetadata(raw: unknown): Record<string, string> {
  let m = raw;
  if (typeof raw === 'string') {
    try {
      m = JSON.parse(raw);
    } catch {
      throw validationFailed('metadata: must be a JSON object of strings.', { fields: [{ path: 'metadata', message: 'must be a JSON object of strings' }] });
    }
  }
  if (!m || typeof m !== 'object' || Array.isArray(m)) throw validationFailed('metadata: must be an object of strings.', { fields: [{ path: 'metadata', message: 'must be an object of strings' }] });
  const entries = Object.entries(m as Record<string, unknown>);
  const key = new RegExp(METADATA_KEY_PATTERN);
  const bad = (path: string, message: string) => validationFailed(`${path}: ${message}.`, { fields: [{ path, message }] });
  if (entries.length > METADATA_LIMITS.pairs) throw bad('metadata', `at most ${METADATA_LIMITS.pairs} pairs`);
  for (const [k, v] of entries) {
    if (!key.test(k)) throw bad(`metadata.${k.slice(0, 60)}`, `keys are 1–${METADATA_LIMITS.keyLength} characters of A–Z a–z 0–9 _ . : -`);
    if (typeof v !== 'string' || v.length > METADATA_LIMITS.valueLength) throw bad(`metadata.${k}`, `must be a string of at most ${METADATA_LIMITS.valueLength} characters`);
  }
  return Object.fromEntries(entries) as Record<string, string>;
}

/** 422 when the price the request would hold is above the client's limit; called before any hold. */
export function checkMaxCost(options: JobOptions | undefined, priceMicros: number): void {
  if (options?.maxCostMicros === undefined || priceMicros <= options.maxCostMicros) return;
  throw new EaselError(
    422,
    'max_cost_exceeded',
    `This request costs EUR ${microsToEur(priceMicros)}, more than its max_cost_eur of EUR ${microsToEur(options.maxCostMicros)}; nothing was charged.`,
    { price_eur: microsToEur(priceMicros), max_cost_eur: microsToEur(options.maxCostMicros) },
  );
}

/** The job options of a create body (its other fields untouched). */
export function jobOptionsOf(body: unknown): JobOptions {
  return body && typeof body === 'object' ? takeJobOptions(body as Record<string, unknown>).options : {};
}
