import type { JobPriority } from '../store/schema.js';

export const PRIORITIES: readonly JobPriority[] = ['low', 'normal', 'high'];

/**
 * A task's order within its account: its creation time shifted by its priority, `high` one aging
 * period earlier and `low` one later. Within one aging period of each other, high goes before
 * normal before low; a job older than that goes first whatever its priority, so a low job waits
 * behind a constant stream of high ones at most two aging periods (EASEL_PRIORITY_AGING_S) — aging
 * built into a static key, which an index can order (no periodic re-prioritising pass).
 */
export function sortKey(createdAt: number, priority: JobPriority, agingMs: number): number {
  return createdAt + (priority === 'high' ? -agingMs : priority === 'low' ? agingMs : 0);
}
