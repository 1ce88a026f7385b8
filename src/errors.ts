/**
 * The one error type every layer throws. It maps 1:1 onto the wire shape
 * `{error, message, details, request_id}` and an HTTP status from the contract's table.
 */
export class EaselError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'EaselError';
  }
}

export const badRequest = (message: string, details?: Record<string, unknown>) =>
  new EaselError(400, 'bad_request', message, details);
export const validationFailed = (message: string, details?: Record<string, unknown>) =>
  new EaselError(422, 'validation_failed', message, details);
export const notFound = (message = 'Not found.') => new EaselError(404, 'not_found', message);
export const authInvalid = (message: string) => new EaselError(401, 'auth_invalid', message);
export const forbidden = (message: string) => new EaselError(403, 'forbidden', message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new EaselError(409, 'conflict', message, details);

/** Job-level error codes (inside a failed job's `error.code`) and the HTTP status a sync caller gets. */
export const JOB_ERROR_STATUS: Record<string, number> = {
  content_rejected: 403,
  content_rejected_legal: 451,
  insufficient_credits: 402,
  upstream_error: 502,
  provider_unavailable: 503,
  timeout: 502,
  internal_error: 500,
  canceled: 409,
};

/** A failure inside a job's pipeline. `retryable` failures are retried with backoff; others end the job. */
export class JobFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'JobFailure';
  }
}
