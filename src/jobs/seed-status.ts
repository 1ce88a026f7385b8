import type { JobStatus } from '../store/schema.js';

/** A canceled job's error message (stored with it, and the fallback for older rows). */
export const CANCELED_MESSAGE = 'Canceled by request.';

/** The statuses of the Depicta seed: a client that knows these four must see every job end in one. */
export type SeedStatus = 'pending' | 'processing' | 'completed' | 'failed';

/**
 * A stored status as the wire shows it. `canceled` is Easel's own fifth state; on the wire it is
 * `failed` (with `error.code: "canceled"` and `canceled: true` beside it), so "poll until completed
 * or failed" ends for a canceled job too.
 */
export function seedStatus(status: JobStatus): SeedStatus {
  return status === 'canceled' ? 'failed' : status;
}

/**
 * A `status` filter of GET /v1/jobs → the stored statuses it selects. It filters what the list
 * shows: `failed` therefore includes canceled jobs; `canceled` (Easel) selects cancels alone.
 */
export function storedStatusesOf(filter: readonly string[]): JobStatus[] {
  const out = new Set<JobStatus>();
  for (const f of filter) {
    if (f === 'failed') out.add('failed').add('canceled');
    else out.add(f as JobStatus);
  }
  return [...out];
}
