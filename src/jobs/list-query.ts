import type { JobFilters } from './job-filters.js';
import { storedStatusesOf } from './seed-status.js';
import { validationFailed } from '../errors.js';

/**
 * GET /v1/jobs query → filters. The schema has checked each value's form; this splits the lists,
 * turns times into epoch ms and collects `metadata[key]=value` pairs (fastify's query parser
 * keeps brackets in the parameter name, so `metadata[customer]` arrives as that literal name).
 */
export function jobFiltersOf(q: Record<string, unknown>): JobFilters {
  const f: JobFilters = {};
  if (typeof q.status === 'string') f.status = storedStatusesOf(q.status.split(','));
  if (typeof q.operation === 'string') f.operation = q.operation.split(',');
  if (typeof q.created_after === 'string') f.createdAfter = time(q.created_after, 'created_after');
  if (typeof q.created_before === 'string') f.createdBefore = time(q.created_before, 'created_before');
  for (const [name, value] of Object.entries(q)) {
    const m = /^metadata\[(.+)\]$/.exec(name);
    if (!m) continue;
    if (typeof value !== 'string') throw validationFailed(`${name}: give each metadata key once.`, { fields: [{ path: name, message: 'must be given once' }] });
    (f.metadata ??= {})[m[1]!] = value;
  }
  return f;
}

function time(v: string, path: string): number {
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw validationFailed(`${path}: not an RFC 3339 time.`, { fields: [{ path, message: 'must be an RFC 3339 date-time' }] });
  return ms;
}
