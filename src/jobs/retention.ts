import { setImmediate as nextTurn } from 'node:timers/promises';
import { ownedInputKeys } from './input-blobs.js';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';
import { sweepIdempotencyKeys } from '../idempotency/store.js';
import { sweepUploads } from '../uploads/retention.js';
import { foldSummaries } from '../store/summaries.js';
import { markResultsExpired } from './transitions/expire-results.js';
import { dependencyFault } from '../util/dependency-fault.js';

/**
 * Jobs per batch: one indexed read, one batched delete of their files (S3: a walk over their
 * folders and multi-object deletes of 1 000 keys), one UPDATE. Large enough that the per-request
 * costs are shared by hundreds of jobs, small enough that the UPDATE is a write transaction of a
 * few milliseconds (SQLite has one writer: submits wait behind it).
 */
export const SWEEP_BATCH = 500;

interface Due {
  id: string;
  request_json: string;
}

/**
 * Deletes the files of jobs whose retention ended, then marks them expired (and drops expired
 * idempotency keys and uploads older than EASEL_UPLOAD_RETENTION_H). Every worker process
 * runs one; several at once are safe: deleting a folder twice is a no-op and the mark is a
 * conditional update. Files go first, the mark second, so a crash in between leaves a job that
 * the next sweep finishes, never a job marked expired whose files linger. A backlog is swept in
 * batches back to back, with a turn of the event loop between them, until a batch comes back short.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly blob: BlobStore,
    private readonly log: Logger,
    private readonly intervalMs: number,
    /** How long an upload (POST /v1/upload) is kept; null = uploads are not swept by this sweeper. */
    private readonly uploadRetentionMs: number | null = null,
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((e: unknown) => this.log.warn({ err: e }, 'retention sweep failed'))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs).unref();
        });
    };
    this.timer = setTimeout(tick, Math.min(this.intervalMs, 1000)).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: every job due at `now`, batch after batch; returns how many it expired. */
  async sweep(now = Date.now()): Promise<number> {
    let n = 0;
    for (;;) {
      const due = await this.dueJobs(now);
      const { expired, failed } = await this.sweepBatch(due, now);
      n += expired;
      // A failed batch ends the pass: the next tick retries it, instead of spinning on a store that is down.
      if (due.length < SWEEP_BATCH || failed || this.stopped) break;
      // Requests waiting behind this batch (the database, the event loop) go first.
      await nextTurn();
    }
    if (n > 0) this.log.info({ expired: n }, 'job files deleted at the end of their retention');
    // Idempotency keys past their 24 h are already ignored by lookups; dropping them keeps the table
    // (one row per keyed create) from growing without bound.
    const keys = await sweepIdempotencyKeys(this.db, now);
    if (keys > 0) this.log.info({ idempotency_keys: keys }, 'expired idempotency keys dropped');
    if (this.uploadRetentionMs !== null) {
      const uploads = await sweepUploads(this.db, this.blob, this.uploadRetentionMs, now);
      if (uploads > 0) this.log.info({ uploads }, 'uploads deleted at the end of their retention');
    }
    // The summaries' delta rows (src/store/summaries.ts) are folded here too, so they stay short on a
    // deployment nobody scrapes; readers are exact either way.
    await foldSummaries(this.db);
    return n;
  }

  /**
   * Oldest expiries first, through the partial index jobs_results_due (src/store/migrations-sweep.ts).
   * No filter on status: only the transition that ends a job sets result_expires_at
   * (src/jobs/transitions/context.ts) and the one that reopens it (a scene retry) clears it, so a
   * due job has ended; a status filter would lead SQLite to its status index and a sort of every ended job.
   */
  private dueJobs(now: number): Promise<Due[]> {
    return this.db
      .selectFrom('jobs')
      .select(['id', 'request_json'])
      .where('result_expires_at', '<=', now)
      .where('result_expired_at', 'is', null)
      .orderBy('result_expires_at')
      .limit(SWEEP_BATCH)
      .execute();
  }

  private async sweepBatch(due: Due[], now: number): Promise<{ expired: number; failed: boolean }> {
    if (due.length === 0) return { expired: 0, failed: false };
    try {
      await this.deleteFiles(due);
    } catch (e) {
      // One job's files that cannot be deleted must not hold back the rest of the batch.
      this.log.warn({ err: e, jobs: due.length }, 'retention batch failed; sweeping its jobs one at a time');
      const done = await this.oneByOne(due);
      return { expired: await markResultsExpired(this.db, done, now), failed: true };
    }
    return { expired: await markResultsExpired(this.db, due.map((j) => j.id), now), failed: false };
  }

  /** Each job's folder, and the files sent with its request (multipart edit/combine), which are the job's and go with it. */
  private async deleteFiles(jobs: Due[]): Promise<void> {
    await this.blob.deletePrefixes(jobs.map((j) => `jobs/${j.id}`));
    await this.blob.deleteMany(jobs.flatMap((j) => ownedInputKeys(j.request_json)));
  }

  /** The ids whose files are gone; stops at an unreachable store (every other job would fail the same way). */
  private async oneByOne(due: Due[]): Promise<string[]> {
    const done: string[] = [];
    for (const job of due) {
      try {
        await this.deleteFiles([job]);
        done.push(job.id);
      } catch (e) {
        this.log.warn({ err: e, job_id: job.id }, 'the files of an expired job could not be deleted; kept for the next sweep');
        if (dependencyFault(e)) break;
      }
    }
    return done;
  }
}
