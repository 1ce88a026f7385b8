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
