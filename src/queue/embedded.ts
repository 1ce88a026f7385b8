import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobQueue, QueueStats, QueueTask } from './port.js';

/**
 * A durable queue in the service's own SQLite database. A claim is one conditional UPDATE
 * under SQLite's write lock, so two workers (or two processes on one file) never take the
 * same task; a task whose lease expired is claimable again, which is how a dead worker's
 * jobs come back.
 */
export class EmbeddedQueue implements JobQueue {
  private readonly events = new EventEmitter();

  constructor(private readonly db: Db) {
    this.events.setMaxListeners(0);
  }

  async enqueue(trx: Db, jobId: string, opts: { queue?: string; runAt?: number } = {}): Promise<void> {
    const now = Date.now();
    await trx
      .insertInto('queue_tasks')
      .values({
        job_id: jobId,
        queue: opts.queue ?? 'default',
        run_at: opts.runAt ?? now,
        attempts: 0,
        lease_owner: null,
        lease_expires_at: null,
        last_error: null,
        created_at: now,
      })
      .execute();
  }

  poke(): void {
    this.events.emit('poke');
  }

  onPoke(listener: () => void): () => void {
    this.events.on('poke', listener);
    return () => this.events.off('poke', listener);
  }

  /** `owner` is not stored: the lease is held by the claim's token, so two claims by one process are told apart. */
  async claim(_owner: string, leaseMs: number): Promise<QueueTask | null> {
    const now = Date.now();
    const token = randomUUID();
    const row = await this.db
      .updateTable('queue_tasks')
      .set({ lease_owner: token, lease_expires_at: now + leaseMs, attempts: sql`attempts + 1` })
      .where(
        'job_id',
        '=',
        this.db
          .selectFrom('queue_tasks')
          .select('job_id')
          .where('run_at', '<=', now)
          .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
          .orderBy('run_at')
          .orderBy('job_id')
          .limit(1),
      )
      .returning(['job_id', 'queue', 'attempts'])
      .executeTakeFirst();
    return row ? { jobId: row.job_id, queue: row.queue, attempts: Number(row.attempts), token } : null;
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
    await trx.deleteFrom('queue_tasks').where('job_id', '=', jobId).execute();
  }

  async remove(trx: Db, jobId: string): Promise<void> {
    await trx.deleteFrom('queue_tasks').where('job_id', '=', jobId).execute();
  }

  async retryLater(trx: Db, jobId: string, token: string, runAt: number, error: string): Promise<void> {
    await trx
      .updateTable('queue_tasks')
      .set({ lease_owner: null, lease_expires_at: null, run_at: runAt, last_error: error.slice(0, 2000) })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', token)
      .execute();
  }

  async release(trx: Db, jobId: string, token: string): Promise<void> {
    await trx
      .updateTable('queue_tasks')
      .set({ lease_owner: null, lease_expires_at: null, attempts: sql`case when attempts > 0 then attempts - 1 else 0 end` })
      .where('job_id', '=', jobId)
      .where('lease_owner', '=', token)
      .execute();
  }

  async stats(): Promise<QueueStats> {
    const now = Date.now();
    const row = await this.db
      .selectFrom('queue_tasks')
      .select([
        sql<number>`sum(case when lease_expires_at is null or lease_expires_at < ${now} then 1 else 0 end)`.as('ready'),
        sql<number>`sum(case when lease_expires_at >= ${now} then 1 else 0 end)`.as('leased'),
        sql<number | null>`min(case when lease_expires_at is null or lease_expires_at < ${now} then run_at end)`.as('oldest'),
      ])
      .executeTakeFirstOrThrow();
    return {
      ready: Number(row.ready ?? 0),
      leased: Number(row.leased ?? 0),
      oldestReadyAgeMs: row.oldest == null ? null : Math.max(0, now - Number(row.oldest)),
    };
  }
}
