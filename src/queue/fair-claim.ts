import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { QueueTask } from './port.js';
import type { Lane } from './lanes.js';

export interface ClaimOptions {
  /** The lane claimed from (src/queue/lanes.ts): its tasks, its schedule, its running limit. */
  lane: Lane;
  leaseMs: number;
  /** Live claims per account in the lane (EASEL_MAX_CONCURRENT_JOBS, EASEL_MAX_CONCURRENT_FREE): an account at its limit is passed over. */
  maxRunning: number;
  /** A task whose claims expired this many times is not claimed again (it is reported as abandoned). */
  maxAttempts: number;
  /** PostgreSQL: lock rows (several processes claim at once); SQLite: the transaction holds the write lock. */
  rowLocks: boolean;
}

/** How many accounts one page of the walk reads; nearly always the first one yields a task. */
const PAGE = 16;

/**
 * Fair dispatch: **stride scheduling** (Waldspurger & Weihl, 1995) over the accounts that have work.
 * Each account has a pass; the account with the lowest pass that is below its running limit and
 * has a ready task goes next, and its pass advances by the task's cost ÷ the account's weight, so
 * over time each backlogged account gets workers in proportion to its weight and a story of six
 * scenes counts six times an image. An account that had no work joins at the lowest pass of those
 * that have work (src/queue/sql-queue.ts, enqueue), so an idle spell saves up no credit and a
 * newcomer waits at most one round. Within an account, tasks go by sort key (priority with aging,
 * src/queue/priority.ts).
 *
 * The walk reads accounts in pass order without locks, then tries each in its own short transaction:
 * lock the account's schedule row (so concurrent claimers of one account respect its running limit),
 * count its live claims, take its first ready task (SKIP LOCKED: never wait on another claimer), and
 * advance its pass. Cost per claim is a few index lookups, whatever the number of waiting tasks and
 * accounts. Everything here is per lane: the walk reads only the lane's schedule rows, the running
 * limit counts only the lane's live claims, and only the lane's tasks are taken.
 */
export async function fairClaim(db: Db, opts: ClaimOptions): Promise<QueueTask | null> {
  let after: { pass: number; account: string } | null = null;
  for (;;) {
    const page: { account_id: string; pass: number }[] = await db
      .selectFrom('sched_accounts')
      .select(['account_id', 'pass'])
      .where('tasks', '>', 0)
      .where('lane', '=', opts.lane)
      .$if(after !== null, (q) => q.where(sql<boolean>`(pass, account_id) > (${after!.pass}, ${after!.account})`))
      .orderBy('pass')
      .orderBy('account_id')
      .limit(PAGE)
      .execute();
    for (const a of page) {
      const task = await claimFromAccount(db, a.account_id, opts);
      if (task) return task;
    }
    if (page.length < PAGE) return null;
    const last: { account_id: string; pass: number } = page[page.length - 1]!;
    after = { pass: Number(last.pass), account: last.account_id };
  }
}

async function claimFromAccount(db: Db, accountId: string, opts: ClaimOptions): Promise<QueueTask | null> {
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    let lockAccount = trx.selectFrom('sched_accounts').select(['pass', 'tasks']).where('lane', '=', opts.lane).where('account_id', '=', accountId);
    if (opts.rowLocks) lockAccount = lockAccount.forUpdate();
    const sched = await lockAccount.executeTakeFirst();
    if (!sched || Number(sched.tasks) <= 0) return null;
    const running = await trx
      .selectFrom('queue_tasks')
      .select(sql<number>`count(*)`.as('n'))
      .where('account_id', '=', accountId)
      .where('queue', '=', opts.lane)
      .where('lease_expires_at', '>=', now)
      .executeTakeFirstOrThrow();
    if (Number(running.n) >= opts.maxRunning) return null;
    let next = readyTasks(trx, now, opts.maxAttempts, opts.lane)
      .where('account_id', '=', accountId)
      .orderBy('sort_key')
      .orderBy('job_id')
      .limit(1);
    if (opts.rowLocks) next = next.forUpdate().skipLocked();
    const task = await next.executeTakeFirst();
    if (!task) return null;
    const weight = await accountWeight(trx, accountId);
    return take(trx, task, { lane: opts.lane, accountId, weight, passStep: Math.max(1, Number(task.cost)) / weight, now, leaseMs: opts.leaseMs });
  });
}

/**
 * The FIFO order (EASEL_DISPATCH=fifo): the oldest ready task of any account, no per-account limit.
 * Kept for single-tenant deployments and as the anchor the fairness bench measures against.
 */
export async function fifoClaim(db: Db, opts: ClaimOptions): Promise<QueueTask | null> {
  return db.transaction().execute(async (trx) => {
    const now = Date.now();
    let next = readyTasks(trx, now, opts.maxAttempts, opts.lane)
      .orderBy('run_at')
      .orderBy('job_id')
      .limit(1);
    if (opts.rowLocks) next = next.forUpdate().skipLocked();
    const task = await next.executeTakeFirst();
    if (!task) return null;
    const weight = await accountWeight(trx, task.account_id);
    return take(trx, task, { lane: opts.lane, accountId: task.account_id, weight, passStep: 0, now, leaseMs: opts.leaseMs });
  });
}

/** Tasks of the lane that may be claimed now: due, and unleased or under a lease that ran out (short of the attempt limit). */
function readyTasks(trx: Db, now: number, maxAttempts: number, lane: Lane) {
  return trx
    .selectFrom('queue_tasks')
    .select(['job_id', 'queue', 'attempts', 'lease_owner', 'cost', 'created_at', 'account_id'])
    .where('queue', '=', lane)
    .where('run_at', '<=', now)
    .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb.and([eb('lease_expires_at', '<', now), eb('attempts', '<', maxAttempts)])]));
}

async function accountWeight(trx: Db, accountId: string): Promise<number> {
  const row = await trx.selectFrom('accounts').select('weight').where('id', '=', accountId).executeTakeFirst();
  return Math.max(1, Number(row?.weight ?? 1));
}

type Picked = { job_id: string; queue: string; attempts: number; lease_owner: string | null; created_at: number };

/** Leases the picked task to a fresh token and moves its account along the schedule, in the claim's transaction. */
async function take(
  trx: Db,
  task: Picked,
  at: { lane: Lane; accountId: string; weight: number; passStep: number; now: number; leaseMs: number },
): Promise<QueueTask> {
  const token = randomUUID();
  await trx
    .updateTable('queue_tasks')
    .set({ lease_owner: token, lease_expires_at: at.now + at.leaseMs, attempts: sql`attempts + 1` })
    .where('job_id', '=', task.job_id)
    .execute();
  // A task taken back from an expired claim was not counted as queued; a fresh one leaves the count.
  const fresh = task.lease_owner === null;
  await trx
    .updateTable('sched_accounts')
    .set({ pass: sql`pass + ${at.passStep}`, queued: fresh ? sql`queued - 1` : sql`queued` })
    .where('lane', '=', at.lane)
    .where('account_id', '=', at.accountId)
    .execute();
  const attempts = Number(task.attempts) + 1;
  return {
    jobId: task.job_id,
    queue: task.queue,
    attempts,
    token,
    accountId: at.accountId,
    weight: at.weight,
    waitedMs: attempts === 1 ? Math.max(0, at.now - Number(task.created_at)) : null,
  };
}
