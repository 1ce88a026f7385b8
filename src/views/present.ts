import type { JobRow } from '../jobs/row.js';
import type { EtaEstimator } from '../jobs/eta.js';
import type { ResultUrls } from '../jobs/result-urls.js';
import { isoSeconds } from '../util/time.js';
import { presentResult, storedResult } from './present-result.js';
import { presentStoryProgress, storyPortraits, type StepRow } from '../story/present.js';
import { jobControlView } from './present-control.js';
import { paramsView } from './present-params.js';
import { TERMINAL, type StoredResult } from '../jobs/types.js';
import { CANCELED_MESSAGE, seedStatus } from '../jobs/seed-status.js';
import { BATCH_OPERATION } from '../jobs/batch-operation.js';
import { batchLinks, type BatchTotals } from '../batches/progress.js';
import { presentProgress, type PreviewUrls } from './present-progress.js';
import { BoundedMemo } from '../util/bounded-memo.js';

/**
 * Everything a job view is made from. Built once by the composition root (src/app.ts), so a job
 * renders the same in every process: `serve`, `serve --no-worker` and `worker` (whose webhook
 * dispatcher sends this view) alike.
 */
export interface PresenterDeps {
  /** Signs stored keys; URLs are minted on every read, so they are always fresh. */
  urls: ResultUrls;
  /** Every step row of a story (finished and failed scenes), for the progress view of one that has not completed. */
  storySteps: (jobId: string) => Promise<StepRow[]>;
  /** Queue position and ETA of a waiting or running job. */
  eta: Pick<EtaEstimator, 'estimate' | 'estimateMany'>;
  /** A batch's totals (src/batches/progress.ts); absent: this view shows no batch progress. */
  batchTotals?: (batchId: string) => Promise<BatchTotals | undefined>;
  /** Signs a running job's preview frame (src/api/routes/previews.ts); absent: progress shows no preview URL. */
  previewUrls?: PreviewUrls;
}

/** Turns stored rows into wire objects: the job view of GET /v1/jobs/{id}, webhooks and SSE, and results. */
export class Presenter {
  constructor(private readonly deps: PresenterDeps) {}

  signedUrl(key: string, now = Date.now()): Promise<{ url: string; expires_at: string }> {
    return this.deps.urls.signedUrl(key, now);
  }

  /** A running job's live progress (src/views/present-progress.ts); undefined when it has none. */
  async progress(job: JobRow, now = Date.now()): Promise<Record<string, unknown> | undefined> {
    return presentProgress(job, this.deps.previewUrls, now);
  }

  /** A completed job's result in its operation's response shape (src/views/present-result.ts). */
  result(job: JobRow, stored: StoredResult | null = storedResult(job)): Promise<Record<string, unknown> | undefined> {
    return presentResult(this.deps.urls, job.id, stored);
  }

  /**
   * The seed's job object: `started_at` omitted until started, `completed_at` until terminal,
   * `result`/`error` only in their states. A canceled job wears the seed's terminal status
   * (`failed`, `error.code: "canceled"`) and Easel's `canceled: true` / `canceled_at` beside it,
   * so a client that knows four statuses stops polling and an Easel client can tell a cancel.
   */
  /** A page of jobs (GET /v1/jobs): each one's view, with the waiting ones' queue places estimated together. */
  async jobs(rows: readonly JobRow[]): Promise<Record<string, unknown>[]> {
    const estimates = await this.deps.eta.estimateMany(rows.filter((r) => r.operation !== BATCH_OPERATION));
    const known: Pick<EtaEstimator, 'estimate'> = { estimate: async (j) => estimates.get(j.id) ?? this.deps.eta.estimate(j) };
    return Promise.all(rows.map((r) => this.job(r, known)));
  }

  async job(job: JobRow, eta: Pick<EtaEstimator, 'estimate'> = this.deps.eta): Promise<Record<string, unknown>> {
    const canceled = job.status === 'canceled';
    const out: Record<string, unknown> = {
      job_id: job.id,
      status: seedStatus(job.status),
      operation: job.operation,
      created_at: isoSeconds(Number(job.created_at)),
    };
    if (job.started_at != null) out.started_at = isoSeconds(Number(job.started_at));
    if (job.completed_at != null && TERMINAL.has(job.status)) out.completed_at = isoSeconds(Number(job.completed_at));
    out.scenes_completed = Number(job.scenes_completed);
    out.scenes_total = Number(job.scenes_total);
    if (job.model) out.model = job.model;
    // Parsed once for the result, the reroute and the params below.
    const stored = job.status === 'completed' ? storedResult(job) : null;
    // A fallback ran (src/fleet/fallback.ts): the model that produced the result, and which was asked for.
    if (stored && 'rerouted_from' in stored) {
      const r = stored as { model?: string; rerouted_from?: string; reroute_reason?: string };
      if (r.rerouted_from && r.model) {
        out.model = r.model;
        out.rerouted = { from_model: r.rerouted_from, reason: r.reroute_reason };
      }
    }
    // After retention the files are gone: no result (and no scene images), result_expired instead.
    if (job.status === 'completed' && job.result_expired_at == null) {
      const result = await this.result(job, stored);
      if (result) out.result = result;
    }
    // What produced a single image, and whether a kept result served it (src/views/present-params.ts).
    Object.assign(out, paramsView(job.status, stored));
    if (job.status === 'failed') out.error = { code: job.error_code ?? 'internal_error', message: job.error_message ?? 'The job failed.' };
    if (canceled) {
      out.error = { code: 'canceled', message: job.error_message ?? CANCELED_MESSAGE };
      out.canceled = true;
      if (job.completed_at != null) out.canceled_at = isoSeconds(Number(job.completed_at));
    }
    // A story shows its finished scenes while it runs, and after it failed or was canceled.
    if (job.operation === 'story' && job.status !== 'completed') {
      const steps = await this.deps.storySteps(job.id);
      out.scenes = await presentStoryProgress(this.deps.urls, job, steps);
      // Portraits come first and move no scene counter: say so, or a story looks stuck at 0/N.
      const portraits = storyPortraits(job, steps);
      out.portraits_completed = portraits.completed;
      out.portraits_total = portraits.total;
      if (job.status === 'processing') out.phase = portraits.completed < portraits.total ? 'portraits' : 'scenes';
    }
    const progress = presentProgress(job, this.deps.previewUrls);
    if (progress) out.progress = progress;
    const prompt = jobPrompt(job);
    if (prompt !== undefined) out.prompt = prompt;
    if (job.batch_id != null) {
      out.batch_id = job.batch_id;
      out.batch_index = Number(job.batch_index);
    }
    if (job.operation === BATCH_OPERATION) {
      // The batch's money is its items' (the ledger rows are theirs); it has no queue place of its own.
      const totals = await this.deps.batchTotals?.(job.id);
      if (totals) {
        out.batch = batchProgress(job.id, totals);
        Object.assign(out, await jobControlView({ ...job, hold_micros: totals.hold_micros, charged_micros: totals.charged_micros, refunded_micros: totals.refunded_micros }, NO_ETA));
      }
      return out;
    }
    // Easel's cost, metadata, queue and retention fields (src/views/present-control.ts).
    Object.assign(out, await jobControlView(job, eta));
    return out;
  }
}

/** A batch's own job waits for no worker: its items carry the queue places and ETAs. */
const NO_ETA: Pick<EtaEstimator, 'estimate'> = { estimate: async () => ({ queue_position: null, estimated_start_at: null, estimated_completed_at: null }) };

function batchProgress(id: string, t: BatchTotals): Record<string, unknown> {
  const ended = t.items_completed + t.items_failed + t.items_canceled;
  return {
    operation: t.operation,
    items_total: t.items_total,
    items_completed: t.items_completed,
    items_failed: t.items_failed,
    items_canceled: t.items_canceled,
    items_running: t.items_running,
    items_pending: Math.max(0, t.items_total - ended - t.items_running),
    ...batchLinks(id),
  };
}

/** What a job was asked for, in the words of its request: shown in job lists (issue 24). */
export function jobPrompt(job: JobRow): string | undefined {
  if (job.operation.startsWith('process_')) return undefined;
  const text = job.request_json;
  // A request never changes, and a poll presents the same one again and again: its prompt is kept
  // by the request's text (short requests only, so the memo stays small), not parsed on every poll.
  return text.length <= PROMPT_MEMO_MAX_CHARS ? prompts.get(text, promptOf) : promptOf(text);
}

const PROMPT_MEMO_MAX_CHARS = 4096;
const prompts = new BoundedMemo<string, string | undefined>(1024);

function promptOf(requestJson: string): string | undefined {
  let req: { prompt?: unknown; scenes?: { prompt?: unknown }[] };
  try {
    req = JSON.parse(requestJson) as typeof req;
  } catch {
    return undefined;
  }
  const p = typeof req.prompt === 'string' && req.prompt.trim() ? req.prompt : req.scenes?.[0]?.prompt;
  if (typeof p !== 'string' || !p.trim()) return undefined;
  const t = p.trim().replace(/\s+/g, ' ');
  return t.length > 200 ? `${t.slice(0, 199)}…` : t;
}
