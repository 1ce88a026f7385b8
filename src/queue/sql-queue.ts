import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobQueue, NewTask, QueueDepth, QueueStats, QueueTask } from './port.js';
import { sortKey } from './priority.js';
import { fairClaim, fifoClaim, type ClaimOptions } from './fair-claim.js';
import { fairPosition, fairPositions } from './fair-position.js';
import { LANES, type Lane } from './lanes.js';

/** Rows per multi-row insert: well inside SQLite's and PostgreSQL's bound-parameter limits. */
const INSERT_CHUNK = 200;
/** Wake-ups sent for one enqueue of many tasks (more idle slots than this in a process is rare). */
const WAKE_MAX = 16;

export interface SqlQueueOptions {
  /** postgres: row locks and SKIP LOCKED (several processes claim at once); sqlite: one writer at a time. */
  dialect: 'sqlite' | 'postgres';
  /** Live claims per account in the paid lane (EASEL_MAX_CONCURRENT_JOBS). */
  maxRunning: number;
  /** Live claims per account in the free processing lane (EASEL_MAX_CONCURRENT_FREE); default 1. */
  maxRunningFree?: number;
  maxAttempts: number;
  /** EASEL_PRIORITY_AGING_S in ms (src/queue/priority.ts). */
  agingMs: number;
  /** fair (default) or fifo (EASEL_DISPATCH). */
  dispatch: 'fair' | 'fifo';
  /** PostgreSQL: wakes this process's idle workers when another process enqueues (src/queue/pg-wakeup.ts). */
  notify?: (trx: Db, jobId: string) => Promise<void>;
}

/**
 * The job queue, in the store's own database: SQLite in embedded mode, PostgreSQL in scale-out
 * mode, the same tables and the same order in both (docs/DECISIONS.md, "Fair dispatch", says why
 * this replaced pg-boss). A claim is a lease held by a fresh token; a lease that runs out makes the
 * task claimable again, which is how a dead worker's jobs come back; a task whose leases ran out
 * `maxAttempts` times is reported as abandoned. The schedule's counters (`sched_accounts.tasks` /
 * `queued`) change only here, in the same transactions as the tasks they count.
 */
export class SqlQueue implements JobQueue {
  private readonly events = new EventEmitter();

  constructor(
    private readonly db: Db,
    private readonly opts: SqlQueueOptions,
  ) {
    this.events.setMaxListeners(0);
  }

  async enqueue(trx: Db, task: NewTask, at: { runAt?: number } = {}): Promise<void> {
    await this.enqueueMany(trx, [task], at);
  }

  /**
   * Adds tasks inside the caller's transaction: one multi-row insert and one schedule update per
   * account and lane, so a 1 000-item batch costs a handful of statements, not thousands.
   */
  async enqueueMany(trx: Db, tasks: readonly NewTask[], at: { runAt?: number } = {}): Promise<void> {
    const now = Date.now();
    const groups = new Map<string, { lane: Lane; accountId: string; tasks: NewTask[] }>();
    for (const t of tasks) {
      const lane: Lane = t.lane ?? 'default';
      const k = `${lane}\u0000${t.accountId}`;
      const g = groups.get(k) ?? { lane, accountId: t.accountId, tasks: [] };
      g.tasks.push(t);
      groups.set(k, g);
    }
    for (const { lane, accountId, tasks: group } of groups.values()) {
      for (let i = 0; i < group.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('queue_tasks')
          .values(
            group.slice(i, i + INSERT_CHUNK).map((task) => ({
              job_id: task.jobId,
              queue: lane,
              run_at: at.runAt ?? now,
              attempts: 0,
              lease_owner: null,
              lease_expires_at: null,
              last_error: null,
              created_at: now,
              account_id: task.accountId,
              sort_key: sortKey(task.createdAt, task.priority, this.opts.agingMs),
              cost: Math.max(1, Math.round(task.cost)),
            })),
          )
          .execute();
      }
      await this.joinSchedule(trx, lane, accountId, group.length);
    }
    // Each notification wakes one idle slot per lane in every other process: enough for their slots to fill.
    for (const t of tasks.slice(0, WAKE_MAX)) await this.opts.notify?.(trx, t.jobId);
  }

  /**
   * An account that had no work in this lane joins the lane's schedule at its current position (the
   * lowest pass among accounts with work there; with none, the highest pass seen), never behind it:
   * idleness saves no credit. Each lane has its own schedule (src/queue/lanes.ts).
   */
  private async joinSchedule(trx: Db, lane: Lane, accountId: string, n: number): Promise<void> {
    const floor = await trx.selectFrom('sched_accounts').select(sql<number | null>`min(pass)`.as('p')).where('lane', '=', lane).where('tasks', '>', 0).executeTakeFirst();
    const joinAt =
      floor?.p != null
        ? Number(floor.p)
        : Number((await trx.selectFrom('sched_accounts').select(sql<number | null>`max(pass)`.as('p')).where('lane', '=', lane).executeTakeFirst())?.p ?? 0);
    await trx
      .insertInto('sched_accounts')
      .values({ lane, account_id: accountId, pass: joinAt, tasks: n, queued: n })
      .onConflict((oc) =>
        oc.columns(['lane', 'account_id']).doUpdateSet({
          pass: sql`case when sched_accounts.tasks <= 0 and sched_accounts.pass < ${joinAt} then ${joinAt} else sched_accounts.pass end`,
          tasks: sql`sched_accounts.tasks + ${n}`,
          queued: sql`sched_accounts.queued + ${n}`,
        }),
      )
      .execute();
  }

  poke(): void {
    this.events.emit('poke');
  }

  onPoke(listener: () => void): () => void {
    this.events.on('poke', listener);
    return () => this.events.off('poke', listener);
  }

  private claimOptions(leaseMs: number, lane: Lane): ClaimOptions {
    const maxRunning = lane === 'process' ? (this.opts.maxRunningFree ?? 1) : this.opts.maxRunning;
    return { lane, leaseMs, maxRunning, maxAttempts: this.opts.maxAttempts, rowLocks: this.opts.dialect === 'postgres' };
  }

  /**
   * `owner` is not stored: the lease is held by the claim's token, so two claims by one process are told apart.
   * EASEL_DISPATCH orders the paid lane; the free lane is always fair, so its per-account limit holds.
   */
  async claim(_owner: string, leaseMs: number, lane: Lane = 'default'): Promise<QueueTask | null> {
    const o = this.claimOptions(leaseMs, lane);
    return this.opts.dispatch === 'fifo' && lane === 'default' ? fifoClaim(this.db, o) : fairClaim(this.db, o);
  }

  async holds(trx: Db, jobId: string, token: string): Promise<boolean> {
    const row = await trx.selectFrom('queue_tasks').select('job_id').where('job_id', '=', jobId).where('lease_owner', '=', token).executeTakeFirst();
    return row !== undefined;
  }

  async heartbeat(jobId: string, token: string, leaseMs: number): Promise<boolean> {
    const res = await this.db
      .updateTable('queue_tasks')
      .set({ lease_expires_at: Date.now() + leaseMs })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', token)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }

  async complete(trx: Db, jobId: string): Promise<void> {
    await this.remove(trx, jobId);
  }

  async remove(trx: Db, jobId: string): Promise<void> {
    const gone = await trx.deleteFrom('queue_tasks').where('job_id', '=', jobId).returning(['account_id', 'lease_owner', 'queue']).executeTakeFirst();
    if (!gone) return;
    await trx
      .updateTable('sched_accounts')
      .set({ tasks: sql`tasks - 1`, queued: gone.lease_owner === null ? sql`queued - 1` : sql`queued` })
      .where('lane', '=', laneOfTask(gone))
      .where('account_id', '=', gone.account_id)
      .execute();
  }

  async retryLater(trx: Db, jobId: string, token: string, runAt: number, error: string): Promise<void> {
    await this.unclaim(trx, jobId, token, { run_at: runAt, last_error: error.slice(0, 2000) });
  }

  async release(trx: Db, jobId: string, token: string): Promise<void> {
    // Handing work back at shutdown is not a failed attempt.
    await this.unclaim(trx, jobId, token, { attempts: sql<number>`case when attempts > 0 then attempts - 1 else 0 end` });
    await this.opts.notify?.(trx, jobId);
  }

  /** The claim's task waits again (counted as queued), if that claim still holds it. */
  private async unclaim(trx: Db, jobId: string, token: string, set: Record<string, unknown>): Promise<void> {
    const back = await trx
      .updateTable('queue_tasks')
      .set({ lease_owner: null, lease_expires_at: null, ...set })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', token)
      .returning(['account_id', 'queue'])
      .executeTakeFirst();
    if (back) await trx.updateTable('sched_accounts').set({ queued: sql`queued + 1` }).where('lane', '=', laneOfTask(back)).where('account_id', '=', back.account_id).execute();
  }

  async position(jobId: string): Promise<number | null> {
    return fairPosition(this.db, jobId, this.opts.dispatch);
  }

  async positions(jobIds: readonly string[]): Promise<Map<string, number | null>> {
    return fairPositions(this.db, jobIds, this.opts.dispatch);
  }

  /**
   * Ready and leased tasks and the oldest ready one, read so the cost does not grow with the queue
   * (a scrape at 100 000 waiting tasks costs what it costs at ten): unclaimed tasks from the
   * schedule's maintained counters, claims and expired claims from the lease index (bounded by the
   * worker slots), the oldest from the head of each lane's (queue, run_at) index.
   */
  async stats(): Promise<QueueStats> {
    const now = Date.now();
    const queued = await this.db.selectFrom('sched_accounts').select(sql<number>`coalesce(sum(queued), 0)`.as('n')).executeTakeFirstOrThrow();
    const leases = await this.db
      .selectFrom('queue_tasks')
      .select([
        sql<number>`sum(case when lease_expires_at < ${now} then 1 else 0 end)`.as('expired'),
        sql<number>`sum(case when lease_expires_at >= ${now} then 1 else 0 end)`.as('leased'),
        sql<number | null>`min(case when lease_expires_at < ${now} then run_at end)`.as('oldest'),
      ])
      .where('lease_expires_at', 'is not', null)
      .executeTakeFirstOrThrow();
    let oldest = leases.oldest == null ? null : Number(leases.oldest);
    for (const lane of LANES) {
      const head = await this.db
        .selectFrom('queue_tasks')
        .select('run_at')
        .where('queue', '=', lane)
        .where('lease_owner', 'is', null)
        .orderBy('run_at')
        .limit(1)
        .executeTakeFirst();
      if (head && (oldest === null || Number(head.run_at) < oldest)) oldest = Number(head.run_at);
    }
    return {
      ready: Math.max(0, Number(queued.n)) + Number(leases.expired ?? 0),
      leased: Number(leases.leased ?? 0),
      oldestReadyAgeMs: oldest == null ? null : Math.max(0, now - oldest),
    };
  }

  /** Waiting paid work per weight (the paid lane's schedule; free processing is not counted). */
  async depth(): Promise<QueueDepth[]> {
    const rows = await this.db
      .selectFrom('sched_accounts as s')
      .innerJoin('accounts as a', 'a.id', 's.account_id')
      .select(['a.weight', sql<number>`sum(s.queued)`.as('queued'), sql<number>`count(*)`.as('accounts')])
      .where('s.lane', '=', 'default')
      .where('s.tasks', '>', 0)
      .groupBy('a.weight')
      .execute();
    return rows.map((r) => ({ weight: Number(r.weight), queued: Math.max(0, Number(r.queued)), accounts: Number(r.accounts) }));
  }

  async abandoned(db: Db): Promise<string[]> {
    const rows = await db
      .selectFrom('queue_tasks')
      .select('job_id')
      .where('lease_expires_at', '<', Date.now())
      .where('attempts', '>=', this.opts.maxAttempts)
      .limit(100)
      .execute();
    return rows.map((r) => r.job_id);
  }
}

/** The lane of a task's schedule row (tasks written before lanes existed say `default`). */
function laneOfTask(t: { queue: string }): Lane {
  return t.queue === 'process' ? 'process' : 'default';
}
