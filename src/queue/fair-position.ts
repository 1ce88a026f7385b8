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
  return (await fairPositions(db, [jobId], dispatch)).get(jobId) ?? null;
}

type Task = { account_id: string; sort_key: number | string; lease_owner: string | null; run_at: number | string; job_id: string; queue: string };
type Other = { account_id: string; pass: number | string; queued: number | string; weight: number | string };

/**
 * The positions of several waiting tasks at once (a page of `GET /v1/jobs`): each task's own
 * account's tasks ahead of it are counted per task, but the schedule of the other accounts is read
 * once per lane (up to the furthest target of the page) instead of once per job — the same
 * numbers as one `fairPosition` per job, for a fraction of the reads.
 */
export async function fairPositions(db: Db, jobIds: readonly string[], dispatch: 'fair' | 'fifo'): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (jobIds.length === 0) return out;
  const tasks = (await db.selectFrom('queue_tasks').select(['account_id', 'sort_key', 'lease_owner', 'run_at', 'job_id', 'queue']).where('job_id', 'in', [...jobIds]).execute()) as Task[];
  const byId = new Map(tasks.map((t) => [t.job_id, t]));
  // Per task: how many of its own account's tasks go first, and where its account's pass must reach.
  const waiting: { t: Task; lane: Lane; ownAhead: number; target: number | null }[] = [];
  const mine = new Map<string, { pass: number; weight: number } | null>();
  for (const id of jobIds) {
    const t = byId.get(id);
    if (!t || t.lease_owner !== null) {
      out.set(id, null);
      continue;
    }
    const lane: Lane = t.queue === 'process' ? 'process' : 'default';
    if (dispatch === 'fifo' && lane === 'default') {
      const ahead = await db
        .selectFrom('queue_tasks')
        .select(sql<number>`count(*)`.as('n'))
        .where('queue', '=', lane)
        .where('lease_owner', 'is', null)
        .where(sql<boolean>`(run_at, job_id) < (${t.run_at}, ${t.job_id})`)
        .executeTakeFirstOrThrow();
      out.set(id, Number(ahead.n) + 1);
      continue;
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
    const meKey = `${lane}\u0000${t.account_id}`;
    if (!mine.has(meKey)) {
      // Weights come with the schedule rows (one join), not from a second query naming every account.
      const me = await db
        .selectFrom('sched_accounts as s')
        .innerJoin('accounts as a', 'a.id', 's.account_id')
        .select(['s.pass', 'a.weight'])
        .where('s.lane', '=', lane)
        .where('s.account_id', '=', t.account_id)
        .executeTakeFirst();
      mine.set(meKey, me ? { pass: Number(me.pass), weight: Math.max(1, Number(me.weight)) } : null);
    }
    const me = mine.get(meKey)!;
    if (!me) {
      out.set(id, ownAhead + 1);
      continue;
    }
    waiting.push({ t, lane, ownAhead, target: me.pass + ownAhead / me.weight });
  }
  for (const lane of new Set(waiting.map((w) => w.lane))) {
    const here = waiting.filter((w) => w.lane === lane);
    const furthest = Math.max(...here.map((w) => w.target!));
    const others = (await db
      .selectFrom('sched_accounts as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['s.account_id', 's.pass', 's.queued', 'a.weight'])
      .where('s.lane', '=', lane)
      .where('s.tasks', '>', 0)
      .where('s.queued', '>', 0)
      .where('s.pass', '<=', furthest + EPS)
      .execute()) as Other[];
    for (const w of here) out.set(w.t.job_id, w.ownAhead + othersAhead(others, w.t.account_id, w.target!) + 1);
  }
  return out;
}

/** Every other account with work is served while its own pass is below the target: ⌈(target − pass) × weight⌉ times, at most its waiting tasks. */
function othersAhead(others: readonly Other[], accountId: string, target: number): number {
  let n = 0;
  for (const o of others) {
    if (o.account_id === accountId) continue;
    const pass = Number(o.pass);
    if (pass > target + EPS) continue;
    const w = Math.max(1, Number(o.weight));
    let k = Math.max(0, Math.ceil((target - pass) * w - EPS));
    // Equal passes go by account id (the claim's tie-break).
    if (Math.abs(pass + k / w - target) < EPS && o.account_id < accountId) k += 1;
    n += Math.min(Number(o.queued), k);
  }
  return n;
}
