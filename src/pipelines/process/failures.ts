import { JobFailure } from '../../errors.js';

/**
 * A request valid on its face that this input makes impossible (a crop beyond the image).
 * Not retryable. The message starts with the field path; the sync route turns it into
 * `details.fields` (see api/sync-job.ts).
 */
export function invalid(field: string, message: string): JobFailure {
  return new JobFailure('validation_failed', `${field}: ${message}`, false);
}

/** The input could not be used as an image at all. */
export function unusable(field: string, message: string): JobFailure {
  return new JobFailure('reference_unavailable', `${field}: ${message}`, false);
}
