import type { ServerResponse } from 'node:http';
import type { Presenter } from '../views/present.js';
import type { JobRow } from '../jobs/row.js';
import { progressEnvelope } from '../webhooks/payload.js';
import { PROGRESS_INTERVAL_MS } from '../progress/reporter.js';
import { progressHeldBack } from '../observability/metrics.js';

/**
 * Unsent bytes above which a stream's progress waits: the client is not reading, so a newer
 * report will replace this one (the stream's durable events are still all written: they are few
 * and bounded by the job itself, while progress never ends while the job runs).
 */
export const PROGRESS_BACKLOG_BYTES = 16 * 1024;
/** How long a key found usable is trusted for progress reports. */
export const KEY_RECHECK_MS = 1000;

/**
 * `job.progress` on one SSE stream: sent when the job's stored report changed, at most every
 * PROGRESS_INTERVAL_MS, and only while the socket drains — coalesced, never queued.
 */
export class ProgressStream {
  private lastJson: string | null = null;
  private lastAt = 0;
  private keyCheckedAt = 0;

  constructor(
    private readonly res: ServerResponse,
    private readonly presenter: Presenter,
    private readonly keyUsable: () => Promise<boolean>,
  ) {}

  /** A stored event went out with this row's job view, progress included: that report is no news any more. */
  seen(job: JobRow): void {
    if (job.progress_json != null) this.lastJson = job.progress_json;
  }

  /** Writes the job's progress if there is news; true when the key was found unusable (the caller ends the stream). */
  async send(job: JobRow): Promise<boolean> {
    if (job.progress_json == null || job.progress_json === this.lastJson || job.status !== 'processing') return false;
    if (Date.now() - this.lastAt < PROGRESS_INTERVAL_MS) return false;
    if (this.res.writableLength > PROGRESS_BACKLOG_BYTES) {
      progressHeldBack.inc();
      return false;
    }
    const envelope = await progressEnvelope(this.presenter, job);
    if (!envelope) return false;
    // Its preview URL is signed: only for a key that still authenticates. Re-read at most once a
    // second (a stream sends up to 4 reports a second): a revoked key's stream gets at most that
    // much more progress before it ends, and never a stored event (those re-read the key each time).
    if (Date.now() - this.keyCheckedAt >= KEY_RECHECK_MS) {
      if (!(await this.keyUsable())) return true;
      this.keyCheckedAt = Date.now();
    }
    this.lastJson = job.progress_json;
    this.lastAt = Date.now();
    this.res.write(`event: job.progress\ndata: ${JSON.stringify(envelope)}\n\n`);
    return false;
  }
}
