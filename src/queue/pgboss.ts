import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { CompiledQuery } from 'kysely';
import PgBoss from 'pg-boss';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { JobQueue, QueueStats, QueueTask } from './port.js';

const QUEUE = 'easel-jobs';
const CHANNEL = 'easel_queue';

export interface PgBossQueueOptions {
  url: string;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  poolSize: number;
}

/** pg-boss runs its SQL through whatever `executeSql` it is given: ours joins the caller's transaction. */
function inTransaction(trx: Db) {
  return {
    executeSql: async (text: string, values: unknown[] = []) => {
      const r = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: r.rows as Record<string, unknown>[] };
    },
  };
}

/**
 * The scale-out queue: pg-boss on the same PostgreSQL as the jobs table.
 *
 * What pg-boss gives: the task row inserted in the job's own transaction (no lost or phantom
 * jobs), SKIP LOCKED claiming, retries with exponential backoff, and expiry of active tasks whose
 * worker stopped answering (its supervisor moves them back to retry).
 * What we add around it, without touching its algorithms:
 *  - pickup in milliseconds: the enqueueing transaction sends NOTIFY (delivered on commit only);
 *    every worker process LISTENs and fetches at once instead of waiting for its poll.
 *  - a heartbeat: pg-boss 10 has none, so a long story would have to choose between a huge
 *    expiry (slow crash recovery) or being expired while alive. The heartbeat re-arms the expiry
 *    of a task we still hold by moving its `started_on`, so the expiry acts as a lease.
 *  - a claim token: pg-boss knows only that a task is active, not which fetch made it so. Each
 *    claim writes a fresh token into the task's `output` (pg-boss overwrites it when the task
 *    completes, fails or expires), and the heartbeat, `holds` and `release` act only where it is
 *    still there — so a worker that paused past its expiry cannot re-arm or give back the task
 *    another worker has claimed since. Settling is fenced by the jobs row (src/jobs/transitions).
 */
export class PgBossQueue implements JobQueue {
  private readonly events = new EventEmitter();
  private listener: pg.Client | null = null;
  private stopped = false;

  private constructor(
    private readonly boss: PgBoss,
    private readonly opts: PgBossQueueOptions,
    private readonly log: Logger,
  ) {
    this.events.setMaxListeners(0);
  }

  static async start(opts: PgBossQueueOptions, log: Logger, listen: boolean): Promise<PgBossQueue> {
    const boss = new PgBoss({
      connectionString: opts.url,
      max: Math.max(2, Math.ceil(opts.poolSize / 2)),
      application_name: 'easel-queue',
      // The supervisor expires lost tasks; running it at half a lease keeps recovery near one lease.
      maintenanceIntervalSeconds: Math.max(1, Math.round(opts.leaseMs / 2000)),
      monitorStateIntervalSeconds: 60,
      schedule: false,
    } as ConstructorParameters<typeof PgBoss>[0]);
    boss.on('error', (e: Error) => log.error({ err: e }, 'pg-boss error'));
    await boss.start();
    if (!(await boss.getQueue(QUEUE))) {
      try {
        await boss.createQueue(QUEUE, { name: QUEUE, policy: 'standard' } as never);
      } catch (e) {
        // Several processes may start at once; the loser finds the queue made.
        if (!(await boss.getQueue(QUEUE))) throw e;
      }
    }
    const q = new PgBossQueue(boss, opts, log);
    if (listen) await q.listen();
    return q;
  }

  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.opts.url, application_name: 'easel-queue-listen' });
    client.on('error', (e) => {
      this.log.warn({ err: e }, 'queue listener lost; reconnecting');
      this.listener = null;
      if (!this.stopped) setTimeout(() => void this.listen().catch(() => undefined), 1000);
    });
    await client.connect();
    client.on('notification', () => this.poke());
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  async enqueue(trx: Db, jobId: string, opts: { queue?: string; runAt?: number } = {}): Promise<void> {
    await this.boss.send(QUEUE, { jobId }, {
      id: jobId,
      db: inTransaction(trx),
      retryLimit: Math.max(0, this.opts.maxAttempts - 1),
      retryDelay: Math.max(1, Math.round(this.opts.retryBaseMs / 1000)),
      retryBackoff: true,
      expireInSeconds: Math.max(1, Math.ceil(this.opts.leaseMs / 1000)),
      ...(opts.runAt ? { startAfter: new Date(opts.runAt) } : {}),
    } as PgBoss.SendOptions & { db: unknown });
    await trx.executeQuery(CompiledQuery.raw(`select pg_notify('${CHANNEL}', $1)`, [jobId]));
  }

  poke(): void {
    this.events.emit('poke');
  }

  onPoke(listener: () => void): () => void {
    this.events.on('poke', listener);
    return () => this.events.off('poke', listener);
  }

  async claim(): Promise<QueueTask | null> {
    const [job] = (await this.boss.fetch(QUEUE, { batchSize: 1, includeMetadata: true } as never)) as unknown as {
      id: string;
      data: { jobId: string };
      retryCount: number;
    }[];
    if (!job) return null;
    const token = randomUUID();
    const marked = (await this.boss.getDb().executeSql(
      `UPDATE pgboss.job SET output = jsonb_build_object('easel_lease', $3::text) WHERE name = $1 AND id = $2 AND state = 'active'`,
      [QUEUE, job.id, token],
    )) as unknown as { rowCount?: number };
    // Expired and taken by another worker in the instant between the fetch and the mark: not ours.
    if (marked.rowCount !== 1) return null;
    return { jobId: job.data.jobId, queue: QUEUE, attempts: Number(job.retryCount) + 1, token };
  }

  async holds(trx: Db, jobId: string, token: string): Promise<boolean> {
    const r = await trx.executeQuery(
      CompiledQuery.raw(`SELECT 1 FROM pgboss.job WHERE name = $1 AND id = $2 AND state = 'active' AND output->>'easel_lease' = $3`, [QUEUE, jobId, token]),
    );
    return r.rows.length === 1;
  }

  async heartbeat(jobId: string, token: string): Promise<boolean> {
    const r = (await this.boss.getDb().executeSql(
      `UPDATE pgboss.job SET started_on = now() WHERE name = $1 AND id = $2 AND state = 'active' AND output->>'easel_lease' = $3`,
      [QUEUE, jobId, token],
    )) as unknown as { rowCount?: number };
    return r.rowCount === 1;
  }

  async complete(trx: Db, jobId: string): Promise<void> {
    await this.boss.complete(QUEUE, jobId, {}, { db: inTransaction(trx) } as never);
  }

  /** Deleted, not cancelled: a scene retry re-enqueues under the same id, which must then be free. */
  async remove(trx: Db, jobId: string): Promise<void> {
    await this.boss.deleteJob(QUEUE, jobId, { db: inTransaction(trx) } as never);
  }

  async retryLater(trx: Db, jobId: string, _token: string, runAt: number, error: string): Promise<void> {
    // The caller's transaction is fenced by the job row; pg-boss then counts the retry and applies its backoff.
    await this.boss.fail(QUEUE, jobId, { error: error.slice(0, 2000) }, { db: inTransaction(trx) } as never);
    // pg-boss picks its own backoff; a vendor's Retry-After may ask for longer.
    await trx.executeQuery(
      CompiledQuery.raw(
        `UPDATE pgboss.job SET start_after = greatest(start_after, to_timestamp($3::double precision / 1000)) WHERE name = $1 AND id = $2 AND state = 'retry'`,
        [QUEUE, jobId, runAt],
      ),
    );
  }

  async release(trx: Db, jobId: string, token: string): Promise<void> {
    // Handing work back at shutdown is not a failed attempt: make it claimable again at once.
    await trx.executeQuery(
      CompiledQuery.raw(
        `UPDATE pgboss.job SET state = 'retry', start_after = now() WHERE name = $1 AND id = $2 AND state = 'active' AND output->>'easel_lease' = $3`,
        [QUEUE, jobId, token],
      ),
    );
    await trx.executeQuery(CompiledQuery.raw(`select pg_notify('${CHANNEL}', $1)`, [jobId]));
  }

  async stats(): Promise<QueueStats> {
    const { rows } = (await this.boss.getDb().executeSql(
      `SELECT count(*) FILTER (WHERE state IN ('created','retry')) AS ready,
              count(*) FILTER (WHERE state = 'active') AS leased,
              extract(epoch FROM now() - min(created_on) FILTER (WHERE state IN ('created','retry'))) * 1000 AS oldest
         FROM pgboss.job WHERE name = $1`,
      [QUEUE],
    )) as unknown as { rows: { ready: string; leased: string; oldest: string | null }[] };
    const r = rows[0]!;
    return { ready: Number(r.ready), leased: Number(r.leased), oldestReadyAgeMs: r.oldest == null ? null : Math.round(Number(r.oldest)) };
  }

  /** Jobs whose task pg-boss gave up on (retries exhausted by expiry) while the job never settled. */
  async abandoned(db: Db): Promise<string[]> {
    const r = await db.executeQuery<{ id: string }>(
      CompiledQuery.raw(
        `SELECT j.id FROM jobs j JOIN pgboss.job q ON q.name = $1 AND q.id = j.id::uuid
          WHERE j.status IN ('pending','processing') AND q.state = 'failed' LIMIT 100`,
        [QUEUE],
      ),
    );
    return r.rows.map((x) => x.id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.listener?.end().catch(() => undefined);
    await this.boss.stop({ graceful: false, wait: true } as never);
  }
}
