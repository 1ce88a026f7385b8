import type { Job } from './types.js';

/** Base of every error the SDK throws. `code` is machine-readable; `message` is for a person. */
export class EaselError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EaselError';
  }
}

/**
 * The server answered with an error (`{error, message, details, request_id}`). `code` is the body's
 * `error`; a body that is not Easel's (a proxy page, an S3 XML error) becomes `http_<status>`.
 */
export class EaselApiError extends EaselError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly requestId: string | null,
    readonly details: Record<string, unknown> | undefined,
    /** The server's `Retry-After`, in milliseconds, when it sent one. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(code, message);
    this.name = 'EaselApiError';
  }
}

/** The request never got an answer (connection refused or reset, DNS, TLS), after any retries. */
export class EaselConnectionError extends EaselError {
  constructor(message: string, override readonly cause?: unknown) {
    super('connection_error', message);
    this.name = 'EaselConnectionError';
  }
}

/** The client-side deadline (`timeoutMs`) passed. The server may still finish the work. */
export class EaselTimeoutError extends EaselError {
  constructor(message: string) {
    super('timeout', message);
    this.name = 'EaselTimeoutError';
  }
}

/** A job the SDK waited for ended `failed` (a cancel included: `code` is then `canceled`). `code` is the job's `error.code`. */
export class EaselJobFailedError extends EaselError {
  constructor(readonly job: Job) {
    super(job.error?.code ?? job.status, job.error?.message ?? `Job ${job.job_id} ended ${job.status}.`);
    this.name = 'EaselJobFailedError';
  }
}

/** The caller's AbortSignal fired. */
export class EaselAbortError extends EaselError {
  constructor(message = 'The request was aborted.') {
    super('aborted', message);
    this.name = 'EaselAbortError';
  }
}
