import type { Generated } from 'kysely';

/** Row types of every table. Timestamps are epoch milliseconds; money is integer micro-EUR. */
export interface AccountTable {
  id: string;
  name: string;
  email: string | null;
  status: 'active' | 'suspended';
  strictness: 'normal' | 'liberal';
  /** Default retention of the account's job files in days; null = the server's. */
  retention_days: number | null;
  /** Share of the workers when several accounts wait (stride scheduling, src/queue/fair-claim.ts); default 1. */
  weight: number;
  /** Spending caps (captured + held), per UTC day and month; null = none. */
  daily_cap_micros: number | null;
  monthly_cap_micros: number | null;
  /** Spendable balance: the sum of every ledger row's delta_available for this account. */
  available_micros: number;
  /** Held by in-flight jobs: the sum of every ledger row's delta_held for this account. */
  held_micros: number;
  created_at: number;
  /** How many ledger rows the account has (migration 0018, kept by a trigger): the ledger page's total. */
  ledger_rows: Generated<number>;
}

/** What a key may do: `admin` also manages keys and account settings; `generate` creates and reads jobs. */
export type KeyScope = 'admin' | 'generate';

export interface ApiKeyTable {
  id: string;
  account_id: string;
  name: string;
  /** SHA-256 of the whole key; the key itself is never stored. */
  key_hash: string;
  /** First characters of the key, shown in listings so an operator can tell keys apart. */
  prefix: string;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
  /** What the key may do (migration 0013): `admin` manages keys and settings, `generate` creates and reads jobs. */
  scope: KeyScope;
}

export type JobPriority = 'low' | 'normal' | 'high';
export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'canceled';

export interface JobTable {
  id: string;
  account_id: string;
  key_id: string | null;
  operation: string;
  status: JobStatus;
  model: string | null;
  request_json: string;
  result_json: string | null;
  error_code: string | null;
  error_message: string | null;
  scenes_total: number;
  scenes_completed: number;
  hold_micros: number;
  charged_micros: number;
  refunded_micros: number;
  attempts: number;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  updated_at: number;
  /** The HTTP request that created the job, so API and worker logs join on it. */
  request_id: string | null;
  /** Set when a client asked to cancel a running job; the worker settles it as canceled at its next step. */
  cancel_requested_at: number | null;
  /** The client's metadata object as given (also one row per pair in job_metadata, for filters). */
  metadata_json: string | null;
  /** The client's max_cost_eur, if any (scene retries respect it too). */
  max_cost_micros: number | null;
  /** How long the job's files are kept after it ends. */
  retention_s: number | null;
  /** When the sweeper may delete the job's files (set when the job ends). */
  result_expires_at: number | null;
  /** When the sweeper deleted them: the job answers with result_expired from then on. */
  result_expired_at: number | null;
  /** A scene retry in flight: the story pipeline runs only this scene. */
  retry_scene: number | null;
  /**
   * The fencing token of the queue claim that owns this job (migration 0009): set by the start
   * transition, cleared when the job settles or is given back. Every transition a worker makes
   * writes only where this still equals the token its claim was given.
   */
  lease_token: string | null;
  /** A story's work list (src/story/plan.ts), computed once at submit and read from here after (migration 0009). */
  plan_json: string | null;
  /** low | normal | high (issue 18): the job's order within its account. */
  priority: JobPriority;
  /** The batch this job is an item of (migration 0015); null for a job of its own. */
  batch_id: string | null;
  /** Its 0-based place in the batch's items. */
  batch_index: number | null;
  /** What the running attempt last reported (src/progress/stored.ts), migration 0016; null when not running. */
  progress_json: string | null;
}

/** A batch's running totals (migration 0015), changed only by its items' transitions. */
export interface BatchTable {
  job_id: string;
  account_id: string;
  /** The operation every item runs. */
  operation: string;
  items_total: number;
  items_completed: number;
  items_failed: number;
  items_canceled: number;
  /** Everything ever held for the items, what was captured and what went back. */
  hold_micros: number;
  charged_micros: number;
  refunded_micros: number;
  failure_codes_json: string | null;
  created_at: number;
}

/** One metadata pair of a job, for GET /v1/jobs?metadata[key]=value. */
export interface JobMetadataTable {
  job_id: string;
  account_id: string;
  key: string;
  value: string;
}

/** One durable unit of work inside a job (an image, a portrait, a scene): stored once, charged once. */
export interface JobStepTable {
  job_id: string;
  step: string;
  ordinal: number;
  status: 'completed' | 'failed';
  output_json: string;
  cost_micros: number;
  created_at: number;
}

export type LedgerKind = 'grant' | 'hold' | 'capture' | 'release';

export interface LedgerTable {
  id: string;
  account_id: string;
  job_id: string | null;
  kind: LedgerKind;
  delta_available: number;
  delta_held: number;
  note: string | null;
  created_at: number;
}

/** The embedded queue: one row per runnable job, removed when the job settles. */
export interface QueueTaskTable {
  job_id: string;
  queue: string;
  run_at: number;
  attempts: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  last_error: string | null;
  created_at: number;
  /** The account whose share of the workers this task uses (migration 0010). */
  account_id: string;
  /** Order within the account: created-at shifted by priority (src/queue/priority.ts). */
  sort_key: number;
  /** The work it occupies, in images (a story: its scenes): what a dispatch advances the account's pass by, over its weight. */
  cost: number;
}

/** An account's place in the fair schedule (src/queue/fair-claim.ts). */
export interface SchedAccountTable {
  /** The lane whose schedule the row belongs to (src/queue/lanes.ts); the key is (lane, account_id). */
  lane: 'default' | 'process';
  account_id: string;
  /** Stride scheduling's pass: the account with the lowest pass among those with work goes next. */
  pass: number;
  /** The account's tasks in the queue, claimed or not. */
  tasks: number;
  /** Its tasks not held by a claim (waiting to start; a crashed claim's task counts again once claimed anew). */
  queued: number;
}

/** One endpoint of a fleet (src/fleet/): shared state of every process that sends work to it. */
export interface BackendTable {
  id: string;
  /** The pool it serves (a vendor's endpoint list, or a catalogue model's own `endpoints`). */
  pool: string;
  vendor: string;
  /** Its address as shown to operators (never a key). */
  url: string;
  max_concurrency: number;
  weight: number;
  labels_json: string;
  healthy: number;
  consecutive_failures: number;
  ejected_at: number | null;
  last_error: string | null;
  last_probe_at: number | null;
  latency_ewma_ms: number | null;
  loaded_model: string | null;
  calls_total: number;
  errors_total: number;
  model_loads_total: number;
  updated_at: number;
}

/** A call in flight on a backend (its concurrency slot), held until the call ends or `expires_at`. */
export interface BackendLeaseTable {
  token: string;
  backend_id: string;
  model: string | null;
  acquired_at: number;
  expires_at: number;
}

/** Money captured per account per UTC day (`d2026-12-06`) and month (`m2026-12`): the spending caps read it. */
export interface AccountSpendTable {
  account_id: string;
  period: string;
  captured_micros: number;
}

/**
 * The ordered history of one job (job.started, scene.completed, job.completed, …). Written in the
 * same transaction as the state change it describes, so SSE replay and webhook delivery never miss
 * or invent an event; `seq` is per job, starting at 1, and is the SSE event id.
 */
export interface JobEventTable {
  job_id: string;
  seq: number;
  account_id: string;
  type: string;
  data_json: string;
  created_at: number;
}

/** A stored upload (POST /v1/upload): counted by the daily quotas, deleted with its blob after its retention. */
export interface UploadTable {
  id: string;
  account_id: string;
  /** The blob key, `uploads/<account>/<id>.<ext>`. */
  key: string;
  size_bytes: number;
  created_at: number;
  /** When the retention sweeper deleted the blob, if the row had to outlive it (until its UTC day ends, for the quota). */
  blob_deleted_at: number | null;
}

/** An Idempotency-Key of an account: the job its first request created, for 24 h. */
export interface IdempotencyKeyTable {
  account_id: string;
  key: string;
  /** SHA-256 of route + canonical body (+ uploaded file bytes): a different body under one key is a conflict. */
  request_hash: string;
  job_id: string;
  created_at: number;
  expires_at: number;
}

/** An account's default webhook (url may be null: only a signing secret) and its Standard Webhooks secret. */
export interface WebhookEndpointTable {
  account_id: string;
  url: string | null;
  events_json: string | null;
  secret: string;
  /** The secret the last rotation replaced; it signs beside `secret` until it expires (migration 0008). */
  previous_secret?: string | null;
  previous_secret_expires_at?: number | null;
  created_at: number;
  updated_at: number;
}

/** The webhook one job reports to (its request's webhook_url, else the account default at creation). */
export interface JobWebhookTable {
  job_id: string;
  account_id: string;
  url: string;
  events_json: string | null;
}

/** The webhook outbox: one delivery per job event and webhook; its id is the stable `webhook-id`. */
export interface WebhookDeliveryTable {
  id: string;
  account_id: string;
  job_id: string;
  seq: number;
  event_type: string;
  url: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  next_attempt_at: number | null;
  /** Retries stop 24 h after this (creation, or a manual redeliver). */
  window_started_at: number;
  lease_owner: string | null;
  lease_expires_at: number | null;
  created_at: number;
  updated_at: number;
}

export interface WebhookAttemptTable {
  delivery_id: string;
  attempt: number;
  started_at: number;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

/** A kept result of a cacheable model (migration 0017, src/pipelines/result-cache.ts). */
export interface ResultCacheTable {
  /** The account id, or `shared` (a model with cache_shared). */
  scope: string;
  /** SHA-256 of everything that decides the pixels. */
  key_hash: string;
  model: string;
  /** The job whose raw output this is. */
  job_id: string;
  raw_key: string;
  /** That job's JobParams. */
  params_json: string;
  created_at: number;
}

/** Jobs by status and operation, folded from job_count_deltas (migration 0018, src/store/summaries.ts). */
export interface JobCountTable {
  status: string;
  operation: string;
  n: number;
}

/** One change to a job count, appended by a trigger; folded into job_counts now and then. */
export interface JobCountDeltaTable {
  status: string;
  operation: string;
  d: number;
}

/** The ledger's sums by kind (folded totals, and the deltas appended by a trigger per ledger row). */
export interface LedgerTotalTable {
  kind: string;
  available: number;
  held: number;
}

export interface Database {
  job_events: JobEventTable;
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  jobs: JobTable;
  job_steps: JobStepTable;
  job_metadata: JobMetadataTable;
  ledger: LedgerTable;
  queue_tasks: QueueTaskTable;
  sched_accounts: SchedAccountTable;
  account_spend: AccountSpendTable;
  backends: BackendTable;
  backend_leases: BackendLeaseTable;
  idempotency_keys: IdempotencyKeyTable;
  webhook_endpoints: WebhookEndpointTable;
  job_webhooks: JobWebhookTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  uploads: UploadTable;
  batches: BatchTable;
  result_cache: ResultCacheTable;
  job_counts: JobCountTable;
  job_totals: { status: string; operation: string; n: number };
  job_count_deltas: JobCountDeltaTable;
  ledger_totals: LedgerTotalTable;
  ledger_total_deltas: LedgerTotalTable;
}
