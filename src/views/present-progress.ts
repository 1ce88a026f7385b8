import type { JobRow } from '../jobs/row.js';
import { readProgress } from '../progress/stored.js';

/** Signs a preview frame's key into a URL of the preview route (src/api/routes/previews.ts). */
export type PreviewUrls = (key: string, now: number) => { url: string; expires_at: string };

/**
 * The `progress` object of a running job (Easel extension): what its attempt last reported, the
 * preview frame as a signed URL. Undefined when the job is not running or reported nothing.
 */
export function presentProgress(job: JobRow, previewUrls: PreviewUrls | undefined, now = Date.now()): Record<string, unknown> | undefined {
  if (job.status !== 'processing') return undefined;
  const p = readProgress(job.progress_json, Number(job.attempts));
  if (!p) return undefined;
  const out: Record<string, unknown> = { stage: p.stage };
  if (p.step != null) out.step = p.step;
  if (p.steps != null) out.steps = p.steps;
  out.fraction = p.fraction;
  if (p.scene != null) out.scene = p.scene;
  if (p.queue_position != null) out.queue_position = p.queue_position;
  if (p.preview_key && previewUrls) {
    const signed = previewUrls(p.preview_key, now);
    out.preview_url = signed.url;
    out.preview_expires_at = signed.expires_at;
  }
  out.updated_at = new Date(p.updated_at).toISOString();
  return out;
}
