import type { JobStatus } from '../store/schema.js';

/** GET /v1/jobs filters; every one given must match (AND). Times are epoch ms, bounds exclusive. */
export interface JobFilters {
  status?: JobStatus[];
  operation?: string[];
  createdAfter?: number;
  createdBefore?: number;
  metadata?: Record<string, string>;
}
