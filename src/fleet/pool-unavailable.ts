import { JobFailure } from '../errors.js';

export type UnavailableReason = 'no_healthy_backend' | 'overflow';

/**
 * A pool could not take the call: none of its backends is healthy, or the expected wait for a slot
 * is past the model's `overflow_after_s`. Retryable as a job failure; a model with `fallbacks`
 * reroutes instead (src/fleet/fallback.ts).
 */
export class PoolUnavailable extends JobFailure {
  constructor(
    readonly pool: string,
    readonly reason: UnavailableReason,
    waitMs?: number,
  ) {
    super(
      'provider_unavailable',
      reason === 'overflow'
        ? `Every backend of ${pool} is busy; the expected wait (${Math.round((waitMs ?? 0) / 1000)} s) is past the model's overflow limit.`
        : `No backend of ${pool} is healthy right now.`,
      true,
      5000,
      { pool, reason },
    );
  }
}
