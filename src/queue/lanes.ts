/**
 * Work isolation (docs/DECISIONS.md, "Work isolation"): the queue has two lanes, each served by its
 * own worker slots. `default` holds paid generation work (images, edits, stories); `process` holds
 * the free processing operations (`POST /v1/process/{op}`), so free work never occupies a slot paid
 * work could use, and the reverse. Each lane has its own per-account running limit and its own
 * stride schedule: `sched_accounts` is keyed by (lane, account_id), and its active-rows index leads
 * with the lane (migration 0014), so each lane's walk in pass order is one index range.
 */
export type Lane = 'default' | 'process';

export const LANES: readonly Lane[] = ['default', 'process'];

/** Which lane a job's operation runs in. */
export function laneOf(operation: string): Lane {
  return operation.startsWith('process_') ? 'process' : 'default';
}
