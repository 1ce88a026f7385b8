import { ownedInputKeys } from './input-blobs.js';
import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';
import { sweepIdempotencyKeys } from '../idempotency/store.js';
import { sweepUploads } from '../uploads/retention.js';

const BATCH = 50;

/**
 * Deletes the files of jobs whose retention ended, then marks them expired (and drops expired
 * idempotency keys and uploads older than EASEL_UPLOAD_RETENTION_H). Every worker process
 * runs one; several at once are safe: deleting a folder twice is a no-op and the mark is a
 * conditional update. Files go first, the mark second, so a crash in between leaves a job that
 * the next sweep finishes, never a job marked expired whose files linger.
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

  /** One pass; returns how many jobs it expired. */
  async sweep(now = Date.now()): Promise<number> {
    const due = await this.db
      .selectFrom('jobs')
      .select(['id', 'request_json'])
      .where('result_expires_at', '<=', now)
      .where('result_expired_at', 'is', null)
      .where('status', 'in', ['completed', 'failed', 'canceled'])
      .orderBy('result_expires_at')
      .limit(BATCH)
      .execute();
    let n = 0;
    for (const { id, request_json } of due) {
      await this.blob.deletePrefix(`jobs/${id}`);
      // Files sent with the request itself (multipart edit/combine) are the job's, and go with it.
      for (const key of ownedInputKeys(request_json)) await this.blob.delete(key);
      const r = await this.db
        .updateTable('jobs')
        .set({ result_expired_at: Date.now(), updated_at: Date.now() })
        .where('id', '=', id)
        .where('result_expired_at', 'is', null)
        .where('result_expires_at', '<=', now)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) n++;
    }
    if (n > 0) this.log.info({ expired: n }, 'job files deleted at the end of their retention');
    // Idempotency keys past their 24 h are already ignored by lookups; dropping them keeps the table
    // (one row per keyed create) from growing without bound.
    const keys = await sweepIdempotencyKeys(this.db);
    if (keys > 0) this.log.info({ idempotency_keys: keys }, 'expired idempotency keys dropped');
    if (this.uploadRetentionMs !== null) {
      const uploads = await sweepUploads(this.db, this.blob, this.uploadRetentionMs, now);
      if (uploads > 0) this.log.info({ uploads }, 'uploads deleted at the end of their retention');
    }
    return n;
  }
}
