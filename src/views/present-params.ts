import type { JobRow } from '../jobs/row.js';
import type { JobParams } from '../jobs/types.js';

/**
 * Issue 22: a completed single image's `params` (what produced it) and `cached: true` (a kept
 * result served it), from its stored result. Shown after retention too: they describe the job,
 * not its files. Absent for other results and for jobs completed before they were recorded.
 */
export function paramsView(status: JobRow['status'], stored: { kind?: string } | null): { params?: JobParams; cached?: true } {
  if (status !== 'completed' || !stored) return {};
  const r = stored as { kind?: string; params?: JobParams; cached?: boolean };
  if (r.kind !== 'image' || !r.params) return {};
  return { params: r.params, ...(r.cached ? { cached: true as const } : {}) };
}
