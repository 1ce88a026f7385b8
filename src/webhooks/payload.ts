import type { Presenter } from '../views/present.js';
import type { JobRow } from '../jobs/row.js';
import type { JobEvent } from '../jobs/event-log.js';
import { isoSeconds } from '../util/time.js';

/**
 * The one event envelope, for webhook bodies and SSE `data:` alike (Standard Webhooks shape
 * `{type, timestamp, data}`): `seq` is the per-job sequence number (SSE id), `event` what the
 * event itself recorded, `job` the job view (GET /v1/jobs/{id}) as it is when the event is sent —
 * so URLs in it are freshly signed, and a late retry may show a later state than the event.
 */
export async function eventEnvelope(presenter: Presenter, job: JobRow, ev: JobEvent): Promise<Record<string, unknown>> {
  return {
    type: ev.type,
    timestamp: new Date(Number(ev.created_at)).toISOString(),
    data: {
      job_id: ev.job_id,
      seq: ev.seq,
      event: ev.data,
      job: await presenter.job(job),
      occurred_at: isoSeconds(Number(ev.created_at)),
    },
  };
}

/**
 * A `job.progress` event (SSE and opt-in webhooks): the job's live progress as the job view shows
 * it, without `seq` (it is not a stored event: a stream resumed with Last-Event-ID does not replay
 * it) and without the whole job view (it comes up to four times a second). Null when the job is
 * not running or has nothing to report.
 */
export async function progressEnvelope(presenter: Presenter, job: JobRow, now = Date.now()): Promise<Record<string, unknown> | null> {
  const progress = await presenter.progress(job, now);
  if (!progress) return null;
  return { type: 'job.progress', timestamp: new Date(now).toISOString(), data: { job_id: job.id, progress } };
}
