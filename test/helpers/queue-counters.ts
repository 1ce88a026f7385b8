import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { Core } from './core.js';

/** The schedule's counters equal what they count (one schedule row per account and lane, src/queue/lanes.ts). */
export async function countersMatch(core: Core): Promise<void> {
  const counted = await core.db
    .selectFrom('queue_tasks')
    .select(['account_id', 'queue', sql<number>`count(*)`.as('tasks'), sql<number>`sum(case when lease_owner is null then 1 else 0 end)`.as('queued')])
    .groupBy(['account_id', 'queue'])
    .execute();
  const kept = await core.db.selectFrom('sched_accounts').select(['lane', 'account_id', 'tasks', 'queued']).execute();
  const want = new Map(counted.map((r) => [`${r.queue}/${r.account_id}`, [Number(r.tasks), Number(r.queued)]]));
  for (const k of kept) assert.deepEqual([Number(k.tasks), Number(k.queued)], want.get(`${k.lane}/${k.account_id}`) ?? [0, 0], `counters of ${k.account_id} in lane ${k.lane}`);
}
