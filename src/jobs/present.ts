import type { BlobStore } from '../blob/port.js';
import type { JobRow } from './row.js';
import type { StoredImage, StoredImageResult, StoredResult } from './types.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { presentStoryProgress, presentStoryResult, type StepRow } from '../story/present.js';
import type { StoredStoryResult } from '../story/stored.js';
import { presentProcessResult } from './present-process.js';
import type { StoredProcessResult } from '../pipelines/process/types.js';

export interface FormatView {
  url: string;
  format: string;
  size_bytes: number;
  hash: string;
  expires_at: string;
}

/** Turns stored rows into wire objects. URLs are signed here, on every read, so they are always fresh. */
export class Presenter {
  /** Where story jobs' finished scenes are read from (set by the story routes); without it `scenes` is omitted. */
  storySteps: ((jobId: string) => Promise<StepRow[]>) | null = null;
  /** Easel's cost, metadata, queue and retention fields (src/jobs/present-control.ts, set by the job routes). */
  jobControl: ((job: JobRow) => Promise<Record<string, unknown>>) | null = null;

  constructor(
    private readonly blob: BlobStore,
    private readonly urlTtlS: number,
  ) {}

  /** Signs every stored format of an image; `png`, `jpeg`, `webp` in that order. */
  async formats(image: StoredImage, now = Date.now()): Promise<Record<string, FormatView>> {
    const exp = now + this.urlTtlS * 1000;
    const entries = await Promise.all(
      Object.entries(image.formats).map(async ([fmt, f]) => {
        const view: FormatView = { url: await this.blob.signedUrl(f.key, exp), format: fmt, size_bytes: f.size_bytes, hash: f.hash, expires_at: isoSeconds(exp) };
        return [fmt, view] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async signedUrl(key: string, now = Date.now()): Promise<{ url: string; expires_at: string }> {
    const exp = now + this.urlTtlS * 1000;
    return { url: await this.blob.signedUrl(key, exp), expires_at: isoSeconds(exp) };
  }

  async generation(jobId: string, r: StoredImageResult): Promise<Record<string, unknown>> {
    return {
      id: jobId,
      ai_generated: true,
      formats: await this.formats(r.image),
      cost_eur: microsToEur(r.cost_micros),
      balance_eur: microsToEur(r.balance_after_micros),
      image_hash: r.image.image_hash,
      model: r.model,
    };
  }

  async result(job: JobRow): Promise<Record<string, unknown> | undefined> {
    if (!job.result_json) return undefined;
    const r = JSON.parse(job.result_json) as StoredResult;
    if (r.kind === 'image') return this.generation(job.id, r as StoredImageResult);
    if (r.kind === 'story') return presentStoryResult(this, job.id, r as unknown as StoredStoryResult);
    if (r.kind === 'process') return presentProcessResult(this, job.id, r as unknown as StoredProcessResult);
    return undefined;
  }

  /** The seed's job object: `started_at` omitted until started, `completed_at` until terminal, `result`/`error` only in their states. */
  async job(job: JobRow): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {
      job_id: job.id,
      status: job.status,
      operation: job.operation,
      created_at: isoSeconds(Number(job.created_at)),
    };
    if (job.started_at != null) out.started_at = isoSeconds(Number(job.started_at));
    if (job.completed_at != null && (job.status === 'completed' || job.status === 'failed' || job.status === 'canceled')) {
      out.completed_at = isoSeconds(Number(job.completed_at));
    }
    out.scenes_completed = Number(job.scenes_completed);
    out.scenes_total = Number(job.scenes_total);
    if (job.model) out.model = job.model;
    // After retention the files are gone: no result (and no scene images), result_expired instead.
    if (job.status === 'completed' && job.result_expired_at == null) {
      const result = await this.result(job);
      if (result) out.result = result;
    }
    if (job.status === 'failed') out.error = { code: job.error_code ?? 'internal_error', message: job.error_message ?? 'The job failed.' };
    if (job.operation === 'story' && job.status !== 'completed' && this.storySteps) out.scenes = await presentStoryProgress(this, job, await this.storySteps(job.id));
    if (this.jobControl) Object.assign(out, await this.jobControl(job));
    return out;
  }
}
