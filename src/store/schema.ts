/** Row types of every table. Timestamps are epoch milliseconds; money is integer micro-EUR. */
export interface AccountTable {
  id: string;
  name: string;
  email: string | null;
  status: 'active' | 'suspended';
  strictness: 'normal' | 'liberal';
  /** Spendable balance: the sum of every ledger row's delta_available for this account. */
  available_micros: number;
  /** Held by in-flight jobs: the sum of every ledger row's delta_held for this account. */
  held_micros: number;
  created_at: number;
}

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
}

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

export interface Database {
  job_events: JobEventTable;
  accounts: AccountTable;
  api_keys: ApiKeyTable;
  jobs: JobTable;
  job_steps: JobStepTable;
  ledger: LedgerTable;
  queue_tasks: QueueTaskTable;
}
