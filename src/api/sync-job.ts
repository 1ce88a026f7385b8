import type { Services } from '../app.js';
import { EaselError, jobErrorToHttp } from '../errors.js';

/**
 * Waits for a job submitted by a synchronous route and answers with its result, or maps its
 * failure onto the error table. The job carries on if this wait ends (timeout, disconnect).
 * `fields` lists the request's field names: a failure message that starts with one of them
 * ("width: …", "overlay_image_url could not be used: …") names that field in details.fields,
 * the way a request-time validation error does.
 */
export async function awaitJobResult(
  s: Services,
  jobId: string,
  what: string,
  fields: readonly string[],
  /** `Prefer: wait=N`: wait at most N s, then answer `stillRunning()` instead of a 503. */
  prefer?: { waitS: number; stillRunning: () => Record<string, unknown> },
): Promise<Record<string, unknown>> {
  const waitS = prefer ? Math.min(prefer.waitS, s.config.syncTimeoutS) : s.config.syncTimeoutS;
  const done = await s.jobs.waitForTerminal(jobId, waitS * 1000);
  if (done && prefer && (done.status === 'pending' || done.status === 'processing')) return prefer.stillRunning();
  if (!done || done.status === 'pending' || done.status === 'processing') {
    throw new EaselError(
      503,
      'service_unavailable',
      `The ${what} is taking longer than ${s.config.syncTimeoutS} s. It is still running: poll GET /v1/jobs/${jobId}.`,
      { job_id: jobId },
      { 'retry-after': '5' },
    );
  }
  if (done.status === 'completed') {
    const result = await s.presenter.result(done);
    if (result) return result;
  }
  const { status, error } = jobErrorToHttp(done.error_code);
  const message = done.error_message ?? `The ${what} failed.`;
  const details: Record<string, unknown> = { job_id: jobId, job_error_code: done.error_code };
  const lead = /^([a-z_]+)[: ]/.exec(message)?.[1];
  if (status === 422 && lead && fields.includes(lead)) details.fields = [{ path: lead, message: message.slice(lead.length).replace(/^:?\s*/, '') }];
  throw new EaselError(status, error, message, details, status === 503 ? { 'retry-after': '30' } : undefined);
}
