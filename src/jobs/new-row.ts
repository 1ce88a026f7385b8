import type { JobRow } from './row.js';
import type { JobOptions } from './options.js';

/** What a new job is made of: a create request's prepared input (src/jobs/service.ts SubmitInput). */
export interface NewJob {
  accountId: string;
  keyId: string | null;
  operation: string;
  model: string | null;
  request: unknown;
  holdMicros: number;
  scenesTotal: number;
  /** The HTTP request that created the job: the worker logs it. */
  requestId?: string | null;
  /** max_cost_eur, metadata, retention_days, priority of the create request (src/jobs/options.ts). */
  options?: JobOptions;
  /** The work list the create route planned (a story's StoryPlan): stored with the job and read, never planned again. */
  plan?: unknown;
}

/**
 * The row of a job about to be inserted, pending and unowned. One definition for a job of its own
 * and for a batch's item (`batch`: the batch and the item's place in it).
 */
export function newJobRow(input: NewJob, id: string, now: number, retentionS: number | null, batch?: { id: string; index: number; priority: JobRow['priority'] }): JobRow {
  return {
    id,
    account_id: input.accountId,
    key_id: input.keyId,
    operation: input.operation,
    status: 'pending',
    model: input.model,
    request_json: JSON.stringify(input.request),
    result_json: null,
    error_code: null,
    error_message: null,
    scenes_total: input.scenesTotal,
    scenes_completed: 0,
    hold_micros: input.holdMicros,
    charged_micros: 0,
    refunded_micros: 0,
    attempts: 0,
    created_at: now,
    started_at: null,
    completed_at: null,
    updated_at: now,
    request_id: input.requestId ?? null,
    metadata_json: input.options?.metadata ? JSON.stringify(input.options.metadata) : null,
    max_cost_micros: input.options?.maxCostMicros ?? null,
    retention_s: retentionS,
    cancel_requested_at: null,
    result_expires_at: null,
    result_expired_at: null,
    retry_scene: null,
    lease_token: null,
    plan_json: input.plan === undefined ? null : JSON.stringify(input.plan),
    priority: batch?.priority ?? input.options?.priority ?? 'normal',
    batch_id: batch?.id ?? null,
    batch_index: batch?.index ?? null,
    progress_json: null,
  };
}
