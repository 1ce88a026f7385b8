import type { NewTask } from '../queue/port.js';
import type { JobRow } from './row.js';
import { laneOf } from '../queue/lanes.js';

/**
 * What the dispatcher schedules a job by: its account, priority and age, and the work it occupies
 * (a story: its scenes; anything else: one image). A scene retry runs one scene: `cost` 1.
 */
export function taskOf(job: Pick<JobRow, 'id' | 'account_id' | 'priority' | 'created_at' | 'scenes_total' | 'operation'>, cost?: number): NewTask {
  return {
    jobId: job.id,
    accountId: job.account_id,
    priority: job.priority ?? 'normal',
    createdAt: Number(job.created_at),
    cost: cost ?? Math.max(1, Number(job.scenes_total)),
    lane: laneOf(job.operation),
  };
}
