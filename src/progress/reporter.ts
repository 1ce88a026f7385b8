import type { BlobStore } from '../blob/port.js';
import type { Db } from '../store/db.js';
import type { JobRow } from '../jobs/row.js';
import type { Fence } from '../jobs/transitions/context.js';
import type { ProgressSink, ProgressStage, ProviderProgress } from '../providers/port.js';
import { encodePreview } from './preview.js';
import { progressWrites } from '../observability/metrics.js';
import { previewFolder, type StoredProgress } from './stored.js';
import { progressWebhookUrl, enqueueProgressDelivery } from './webhook.js';

/** At most this often a running job's progress is written (and so shown and streamed): 4 a second. */
export const PROGRESS_INTERVAL_MS = 250;
/** At most this often a new preview frame is encoded and stored. */
export const PREVIEW_INTERVAL_MS = 1000;
/** At most this often a `job.progress` webhook is queued for a job (one pending at a time besides). */
export const PROGRESS_WEBHOOK_INTERVAL_MS = 1000;

/** Where a report's fraction sits when the backend gives none: the stage says roughly how far it is. */
const STAGE_FLOOR: Record<ProgressStage, number> = { queued: 0, loading: 0.02, sampling: 0.05, encoding: 0.95 };

export interface ReporterDeps {
  jobs: { recordProgress(fence: Fence, json: string): Promise<boolean> };
  blob: BlobStore;
  db: Db;
  log: { warn(obj: object, msg: string): void };
}

/** A story's part in the job: scene `index` (0-based) of `of`, so the job's fraction spans all scenes. */
export interface ProgressScope {
  scene?: number;
  of?: number;
}

/**
 * One per attempt (src/worker/pool.ts makes it, the pipeline hands its sink to the provider). The
 * provider may report as often as its backend talks; this keeps only the latest report and writes
 * at most every PROGRESS_INTERVAL_MS (coalesced: a report that arrives meanwhile replaces the
 * waiting one, nothing queues), with a preview frame at most every PREVIEW_INTERVAL_MS. Progress is
 * best effort: a failed write is logged and the job goes on; a refused (fenced) write stops the
 * reporter for good, because the claim no longer owns the job.
 */
export class ProgressReporter {
  private latest: StoredProgress | null = null;
  private frame: Buffer | null = null;
  private fraction = 0;
  private lastWriteAt = 0;
  private lastFrameAt = 0;
  private lastHookAt = 0;
  private frames = 0;
  private previewKey: string | undefined;
  private readonly written: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;
  private reported = false;
  private failing = false;
  private hook: Promise<string | null> | null = null;

  constructor(
    private readonly deps: ReporterDeps,
    private readonly fence: Fence,
    private readonly job: Pick<JobRow, 'id' | 'account_id' | 'attempts'>,
  ) {}

  /** The sink a provider call reports to; a story passes the scene it is drawing. */
  sink(scope: ProgressScope = {}): ProgressSink {
    return (p) => {
      try {
        this.report(p, scope);
      } catch (e) {
        this.deps.log.warn({ err: e }, 'progress report ignored');
      }
    };
  }

  /**
   * The backend answered; Easel's own work (formats, provenance) remains. Shown only when the
   * backend reported something before: a job that showed no progress costs no write for it.
   */
  finishing(): void {
    if (this.reported) this.report({ stage: 'encoding', fraction: 1 }, {});
  }

  private report(p: ProviderProgress, scope: ProgressScope): void {
    if (this.stopped) return;
    this.reported = true;
    const own = p.fraction ?? (p.steps && p.step != null ? p.step / p.steps : STAGE_FLOOR[p.stage]);
    const clamped = Math.min(1, Math.max(0, Number.isFinite(own) ? own : 0));
    const of = Math.max(1, scope.of ?? 1);
    // Monotone within the attempt: a backend that restarts its count (or a story's next scene) never moves the bar back.
    this.fraction = Math.max(this.fraction, ((scope.scene ?? 0) + clamped) / of);
    const now = Date.now();
    this.latest = {
      run: Number(this.job.attempts),
      stage: p.stage,
      ...(p.step != null ? { step: p.step } : {}),
      ...(p.steps != null ? { steps: p.steps } : {}),
      fraction: Math.round(this.fraction * 1000) / 1000,
      ...(scope.scene != null && scope.of != null ? { scene: scope.scene + 1 } : {}),
      ...(p.queuePosition != null ? { queue_position: p.queuePosition } : {}),
      updated_at: now,
    };
    if (p.preview && now - this.lastFrameAt >= PREVIEW_INTERVAL_MS) {
      this.frame = p.preview.bytes;
      this.lastFrameAt = now;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.flushing || this.stopped) return;
    const wait = Math.max(0, this.lastWriteAt + PROGRESS_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flushing = this.flush().finally(() => {
        this.flushing = null;
        if (this.latest) this.schedule();
      });
    }, wait);
  }

  private async flush(): Promise<void> {
    const report = this.latest;
    const frame = this.frame;
    this.latest = null;
    this.frame = null;
    if (!report || this.stopped) return;
    this.lastWriteAt = Date.now();
    try {
      const before = this.previewKey;
      if (frame) {
        const key = `${previewFolder(this.job.id)}/r${report.run}-${++this.frames}.webp`;
        await this.deps.blob.put(key, await encodePreview(frame), 'image/webp');
        this.written.push(key);
        this.previewKey = key;
      }
      const stored: StoredProgress = { ...report, ...(this.previewKey ? { preview_key: this.previewKey } : {}) };
      if (!(await this.deps.jobs.recordProgress(this.fence, JSON.stringify(stored)))) {
        progressWrites.inc({ outcome: 'refused' });
        this.stopped = true;
        return;
      }
      progressWrites.inc({ outcome: 'written' });
      this.failing = false;
      // The row names the new frame now: the one before it is nobody's any more.
      if (before && before !== this.previewKey) await this.deps.blob.delete(before).catch(() => undefined);
      await this.webhook();
    } catch (e) {
      // A frame that would not decode, storage or the database briefly away: the job goes on, the next report may land.
      progressWrites.inc({ outcome: 'failed' });
      // Once per run of failures: a database outage must not log four lines a second per running job.
      if (!this.failing) this.deps.log.warn({ err: e }, 'progress not recorded (further failures of this attempt are counted, not logged, until one succeeds)');
      this.failing = true;
    }
  }

  private async webhook(): Promise<void> {
    this.hook ??= progressWebhookUrl(this.deps.db, this.job.id);
    const url = await this.hook;
    if (!url || Date.now() - this.lastHookAt < PROGRESS_WEBHOOK_INTERVAL_MS) return;
    this.lastHookAt = Date.now();
    await enqueueProgressDelivery(this.deps.db, this.job, url);
  }

  /**
   * The attempt is over (settled, failed, lost or given back): no more writes, and the frames it
   * stored are deleted — previews never outlive their attempt. The job row's progress was
   * cleared by the ending transition itself; a frame URL is refused from that moment on anyway
   * (src/api/routes/previews.ts checks the job), this only frees the storage.
   */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.flushing?.catch(() => undefined);
    await Promise.all(this.written.map((k) => this.deps.blob.delete(k).catch(() => undefined)));
  }
}
