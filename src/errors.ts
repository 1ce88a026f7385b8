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

/**
 * How a failed job's `error.code` reaches a caller that waited for it synchronously: the HTTP
 * status and the contract's error code for that status. Unknown codes are internal errors.
 */
const JOB_ERROR_HTTP: Record<string, { status: number; error: string }> = {
  content_rejected: { status: 403, error: 'content_rejected' },
  insufficient_credits: { status: 402, error: 'credit_insufficient' },
  upstream_error: { status: 502, error: 'upstream_error' },
  timeout: { status: 502, error: 'upstream_error' },
  provider_unavailable: { status: 503, error: 'service_unavailable' },
  reference_unavailable: { status: 422, error: 'validation_failed' },
  // A request valid on its face that the input image makes impossible (a crop outside the image).
  validation_failed: { status: 422, error: 'validation_failed' },
  canceled: { status: 409, error: 'conflict' },
  // A processing operation over its pixel, time or memory budget (src/pipelines/process/budgets.ts).
  processing_budget_exceeded: { status: 422, error: 'processing_budget_exceeded' },
};

export function jobErrorToHttp(code: string | null): { status: number; error: string } {
  return JOB_ERROR_HTTP[code ?? ''] ?? { status: 500, error: 'internal_error' };
}

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
