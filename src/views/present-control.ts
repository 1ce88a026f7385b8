import type { JobRow } from '../jobs/row.js';
import type { EtaEstimator } from '../jobs/eta.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { TERMINAL } from '../jobs/types.js';
import { remainingHold } from '../jobs/remaining-hold.js';

const iso = (ms: number | null) => (ms === null ? null : isoSeconds(ms));

/** A job's money as every view shows it: still held (0 once ended), captured, returned. */
export function costView(job: Pick<JobRow, 'status' | 'hold_micros' | 'charged_micros' | 'refunded_micros'>): { held_eur: string; charged_eur: string; refunded_eur: string } {
  return {
    held_eur: microsToEur(TERMINAL.has(job.status) ? 0 : Math.max(0, remainingHold(job))),
    charged_eur: microsToEur(Number(job.charged_micros)),
    refunded_eur: microsToEur(Number(job.refunded_micros)),
  };
}

/**
 * Easel's job fields from issue 7 part A, added to every job view: the money block, metadata,
 * a pending cancel, queue position and ETA while the job waits or runs, and the retention state.
 */
export async function jobControlView(job: JobRow, eta: Pick<EtaEstimator, 'estimate'>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = { cost: costView(job) };
  out.priority = job.priority ?? 'normal';
  if (job.max_cost_micros != null) out.max_cost_eur = microsToEur(Number(job.max_cost_micros));
  if (job.metadata_json) out.metadata = JSON.parse(job.metadata_json) as Record<string, string>;
  if (job.cancel_requested_at != null && !TERMINAL.has(job.status)) out.cancel_requested_at = isoSeconds(Number(job.cancel_requested_at));
  if (job.status === 'pending' || job.status === 'processing') {
    const e = await eta.estimate(job);
    if (job.status === 'pending') {
      out.queue_position = e.queue_position;
      out.estimated_start_at = iso(e.estimated_start_at);
    }
    out.estimated_completed_at = iso(e.estimated_completed_at);
  }
  if (job.result_expired_at != null) out.result_expired = true;
  else if (job.result_expires_at != null && TERMINAL.has(job.status)) out.result_expires_at = isoSeconds(Number(job.result_expires_at));
  return out;
}
