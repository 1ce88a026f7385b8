import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { Lane } from './lanes.js';

const EPS = 1e-9;

/**
 * Where a waiting task stands in the fair order (src/queue/fair-claim.ts): 1 + the tasks that will
 * start before it. Its own account's tasks with a lower sort key go first; the account reaches
 * this task when its pass has advanced by one stride per task ahead (target pass), and every other
 * account with work is served while its own pass is below that target — ⌈(target − pass) × weight⌉
 * times, at most its waiting tasks. Exact for accounts of unit-cost jobs whose work stays as it is;
 * an estimate when stories (cost > 1) or new submissions change the picture meanwhile. Per lane
 * (src/queue/lanes.ts): only the tasks and schedule of the task's own lane stand before it.
 */
export async function fairPosition(db: Db, jobId: string, dispatch: 'fair' | 'fifo'): Promise<number | null> {
  const t = await db.selectFrom('queue_tasks').select(['account_id', 'sort_key', 'lease_owner', 'run_at', 'job_id', 'queue']).where('job_id', '=', jobId).executeTakeFirst();
  if (!t || t.lease_owner !== null) return null;
  const lane: Lane = t.queue === 'process' ? 'process' : 'default';
  if (dispatch === 'fifo' && lane === 'default') {
    const ahead = await db
      .selectFrom('queue_tasks')
      .select(sql<number>`count(*)`.as('n'))
      .where('queue', '=', lane)
      .where('lease_owner', 'is', null)
      .where(sql<boolean>`(run_at, job_id) < (${t.run_at}, ${t.job_id})`)
      .executeTakeFirstOrThrow();
    return Number(ahead.n) + 1;
  }
  const own = await db
    .selectFrom('queue_tasks')
    .select(sql<number>`count(*)`.as('n'))
    .where('account_id', '=', t.account_id)
    .where('queue', '=', lane)
    .where('lease_owner', 'is', null)
    .where(sql<boolean>`(sort_key, job_id) < (${t.sort_key}, ${t.job_id})`)
    .executeTakeFirstOrThrow();
  const ownAhead = Number(own.n);
  // Weights come with the schedule rows (one join), not from a second query naming every account.
  const me = await db
    .selectFrom('sched_accounts as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.pass', 'a.weight'])
    .where('s.lane', '=', lane)
    .where('s.account_id', '=', t.account_id)
    .executeTakeFirst();
  if (!me) return ownAhead + 1;
  const target = Number(me.pass) + ownAhead / Math.max(1, Number(me.weight));
  const others = await db
    .selectFrom('sched_accounts as s')
    .innerJoin('accounts as a', 'a.id', 's.account_id')
    .select(['s.account_id', 's.pass', 's.queued', 'a.weight'])
    .where('s.lane', '=', lane)
    .where('s.tasks', '>', 0)
    .where('s.queued', '>', 0)
    .where('s.account_id', '!=', t.account_id)
    .where('s.pass', '<=', target + EPS)
    .execute();
  let othersAhead = 0;
  for (const o of others) {
    const w = Math.max(1, Number(o.weight));
    const pass = Number(o.pass);
    let n = Math.max(0, Math.ceil((target - pass) * w - EPS));
    // Equal passes go by account id (the claim's tie-break).
    if (Math.abs(pass + n / w - target) < EPS && o.account_id < t.account_id) n += 1;
    othersAhead += Math.min(Number(o.queued), n);
  }
  return ownAhead + othersAhead + 1;
}
