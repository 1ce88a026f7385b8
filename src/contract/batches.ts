import { Type } from 'typebox';
import { DateTime, Eur, Uuid } from './common.js';
import { NextCursor, PAGE_OFFSET_NOTE, StartingAfterToken } from './pagination.js';
import { jobOptionFields } from './job-options.js';
import { webhookFields } from './webhook-events.js';

/**
 * Batches (issue 21, an Easel extension): many generations of one operation in one request. A
 * batch is a job (`operation: "batch"`); each item is a job of the batch's operation, scheduled,
 * retried, charged and settled on its own, and listed by its batch.
 */

/** An item as given: the create body of the batch's operation, merged over `defaults`. */
export const BatchItemBody = Type.Object({}, { additionalProperties: true, description: "The JSON create body of the batch's operation (e.g. POST /v1/generate/image's body), merged over `defaults`. webhook_url, webhook_events, priority and retention_days belong to the batch and are refused here." });

/** POST /v1/batches as JSON. `operation` is checked against the batchable operations by the route. */
export const batchCreateFields = {
  items: Type.Array(BatchItemBody, { minItems: 1, maxItems: 100_000, description: 'One create body per item (at most EASEL_MAX_BATCH_ITEMS, default 1 000).' }),
  defaults: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Fields every item gets unless it sets them itself (e.g. model, aspect_ratio).' })),
  ...jobOptionFields,
  ...webhookFields,
};

/** The per-state counts of a batch's items, on the batch's job view. */
export const BatchProgress = Type.Object(
  {
    operation: Type.String({ description: 'The operation every item runs.' }),
    items_total: Type.Integer({ minimum: 0 }),
    items_completed: Type.Integer({ minimum: 0, description: 'Items that completed (each charged its price).' }),
    items_failed: Type.Integer({ minimum: 0, description: 'Items that failed for good (each released in full).' }),
    items_canceled: Type.Integer({ minimum: 0, description: "Items canceled (the batch's cancel, or their own) before they finished." }),
    items_running: Type.Integer({ minimum: 0, description: 'Items being generated now (or waiting for a retry).' }),
    items_pending: Type.Integer({ minimum: 0, description: 'Items waiting to start.' }),
    items_url: Type.String({ description: 'GET this for the items page by page (path relative to the API base).' }),
    results_url: Type.String({ description: 'GET this for every item as one JSON line (path relative to the API base).' }),
  },
  { additionalProperties: false, description: "Easel, batch jobs: the items' progress. scenes_completed / scenes_total count the items that ended / all items, so a Depicta-style poller shows progress." },
);

/** A completed batch's `result`: at least one item completed. */
export const BatchResult = Type.Object(
  {
    items_total: Type.Integer({ minimum: 0 }),
    items_completed: Type.Integer({ minimum: 0 }),
    items_failed: Type.Integer({ minimum: 0 }),
    items_canceled: Type.Integer({ minimum: 0 }),
    items_url: Type.String(),
    results_url: Type.String(),
  },
  { $id: 'BatchResult', additionalProperties: false, description: "A batch's result: its counts and where its items' results are (each item's result has fresh signed URLs there)." },
);

const ItemCost = Type.Object(
  { held_eur: Eur, charged_eur: Eur, refunded_eur: Eur },
  { additionalProperties: false, description: "The item's money: held until it ends, then charged (completed) or refunded (failed, canceled)." },
);

/** One item of a batch, as GET /v1/batches/{id}/items and results.jsonl show it. */
export const BatchItem = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: '0-based place in the request\'s items.' }),
    job_id: Uuid,
    status: Type.Enum(['pending', 'processing', 'completed', 'failed'], { description: 'As a job shows it: a canceled item is failed with error.code canceled and canceled: true.' }),
    operation: Type.String(),
    created_at: DateTime,
    started_at: Type.Optional(DateTime),
    completed_at: Type.Optional(DateTime),
    attempts: Type.Integer({ minimum: 0, description: 'Runs started so far (retries included).' }),
    cost: ItemCost,
    result: Type.Optional(Type.Union([Type.Ref('GenerationResponse'), Type.Ref('ProcessResponse')], { description: "Completed items: the operation's create response, URLs freshly signed." })),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })),
    canceled: Type.Optional(Type.Literal(true)),
    metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
    result_expired: Type.Optional(Type.Literal(true, { description: 'Its files were deleted after retention: no result.' })),
  },
  { $id: 'BatchItem', additionalProperties: false },
);

export const BatchItemList = Type.Object(
  {
    items: Type.Array(Type.Ref('BatchItem')),
    limit: Type.Integer(),
    offset: Type.Integer({ description: PAGE_OFFSET_NOTE }),
    total: Type.Integer({ description: 'Items matching the status filter.' }),
    next_cursor: NextCursor,
  },
  { additionalProperties: false },
);

export const BatchItemQuery = Type.Object(
  {
    status: Type.Optional(Type.String({ pattern: '^(pending|processing|completed|failed|canceled)(,(pending|processing|completed|failed|canceled))*$', description: 'Comma list; failed includes canceled items, canceled selects them alone.' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, default: 0 })),
    starting_after: StartingAfterToken,
  },
  { additionalProperties: false },
);

export const BatchAccepted = Type.Object(
  {
    job_id: Uuid,
    poll_url: Type.String({ description: 'GET this (the job) for the batch\'s status and progress.' }),
    items_total: Type.Integer({ minimum: 1 }),
    price_eur: Eur,
  },
  { additionalProperties: false, description: "202: the batch was accepted; every item's price is held." },
);
