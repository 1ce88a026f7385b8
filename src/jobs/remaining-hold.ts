import type { JobRow } from './row.js';

/**
 * What is still held for a job: held − charged − refunded. The one definition of it: a step or
 * completion captures at most this, a failure or cancel releases it, and the job view shows it.
 */
export function remainingHold(job: Pick<JobRow, 'hold_micros' | 'charged_micros' | 'refunded_micros'>): number {
  return Number(job.hold_micros) - Number(job.charged_micros) - Number(job.refunded_micros);
}
