/** The slices of the /v1 wire shapes the dashboard reads (see /v1/openapi.json for the whole). */

export interface ApiErrorBody {
  error: string;
  message: string;
  details?: Record<string, unknown>;
  request_id: string;
}

export interface FormatFile {
  url: string;
  format: string;
  size_bytes: number;
  hash: string;
  expires_at: string;
}

export type Formats = { png: FormatFile; jpeg: FormatFile; webp: FormatFile };
/** A story scene's `images`: the URL of each format (the detail is in its `formats`). */
export type ImageUrls = { png: string; jpeg: string; webp: string };

/** The seed's four statuses: a canceled job is `failed` with `canceled: true`. */
export type JobStatus = 'pending' | 'processing' | 'completed' | 'failed';

export interface SceneProgress {
  index: number;
  status: 'completed' | 'pending' | 'processing' | 'failed' | 'skipped' | 'canceled';
  prompt: string;
  cost_eur?: string;
  images?: ImageUrls;
  formats?: Formats;
  error?: { code: string; message: string };
}

export interface CharacterRef {
  name: string;
  url: string;
  expires_at: string | null;
}

export interface StoryResult {
  id: string;
  scenes: { prompt: string; images: ImageUrls; formats: Formats }[];
  character_refs: CharacterRef[];
  cost_eur: string;
  balance_eur: string;
  model?: string;
}

export interface ImageResult {
  id: string;
  formats: Formats;
  cost_eur: string;
  balance_eur: string;
  model?: string;
}

export interface Job {
  job_id: string;
  status: JobStatus;
  operation: string;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  scenes_completed: number;
  scenes_total: number;
  model?: string;
  /** Easel: what the job was asked for (cut at 200 characters). */
  prompt?: string;
  /** Easel, stories while processing: portraits first, then scenes. */
  phase?: 'portraits' | 'scenes';
  portraits_completed?: number;
  portraits_total?: number;
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
  canceled?: true;
  canceled_at?: string;
  scenes?: SceneProgress[];
  cost?: { held_eur: string; charged_eur: string; refunded_eur: string };
  max_cost_eur?: string;
  metadata?: Record<string, string>;
  cancel_requested_at?: string;
  queue_position?: number | null;
  estimated_start_at?: string | null;
  estimated_completed_at?: string | null;
  result_expires_at?: string;
  result_expired?: boolean;
  /** Easel, batch jobs (operation "batch"): the items' counts. */
  batch?: BatchProgress;
  /** Easel, items of a batch: the batch and the item's 0-based place in it. */
  batch_id?: string;
  batch_index?: number;
  /** Easel, only while the job runs and its backend reported something: live progress (issue 22). */
  progress?: JobProgress;
}

/** A running job's `progress`: the stage, the step (within the scene for a story), and a preview frame. */
export interface JobProgress {
  stage: 'queued' | 'loading' | 'sampling' | 'encoding';
  step?: number;
  steps?: number;
  /** 0…1 of the whole job (a story: across its scenes); never decreases within an attempt. */
  fraction: number;
  /** Stories: the scene being drawn, 1-based. */
  scene?: number;
  queue_position?: number;
  /** A signed URL of the latest small WebP frame; 404 once a newer frame replaced it or the job ended. */
  preview_url?: string;
  preview_expires_at?: string;
  updated_at: string;
}

/** A batch job's `batch` block (issue 21): per-state counts of its items. */
export interface BatchProgress {
  operation: string;
  items_total: number;
  items_completed: number;
  items_failed: number;
  items_canceled: number;
  items_running: number;
  items_pending: number;
  items_url: string;
  results_url: string;
}

/** One item of GET /v1/batches/{id}/items: a job of the batch's operation. */
export interface BatchItem {
  index: number;
  job_id: string;
  status: JobStatus;
  operation: string;
  created_at: string;
  started_at?: string;
  completed_at?: string;
  attempts: number;
  cost: { held_eur: string; charged_eur: string; refunded_eur: string };
  /** Completed items: the operation's create response (a GenerationResponse's formats, a ProcessResponse's image_url). */
  result?: { formats?: Partial<Formats>; image_url?: string };
  error?: { code: string; message: string };
  canceled?: true;
  metadata?: Record<string, string>;
  result_expired?: true;
}

export interface BatchItemList {
  items: BatchItem[];
  limit: number;
  offset: number;
  total: number;
}

/** 202 of POST /v1/batches. */
export interface BatchAccepted {
  job_id: string;
  poll_url: string;
  items_total: number;
  price_eur: string;
}

export interface JobList {
  generations: Job[];
  limit: number;
  offset: number;
  total: number;
}

export interface OpCounts {
  operation: string;
  jobs: number;
  completed: number;
  failed: number;
  charged_eur: string;
}

export interface Profile {
  user: {
    id: string;
    name: string | null;
    balance_eur: string;
    held_eur: string;
    status: string;
    usage: {
      total: Omit<OpCounts, 'operation'>;
      by_operation: OpCounts[];
      by_month: (Omit<OpCounts, 'operation'> & { month: string; by_operation: OpCounts[] })[];
    };
  };
}

export interface ApiKey {
  id: string;
  name: string;
  /** admin: also manages keys and settings; generate: creates and reads jobs only. */
  scope: 'admin' | 'generate';
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
  current: boolean;
}

export interface CreatedKey extends ApiKey {
  key: string;
}

/** One event of GET /v1/jobs/{id}/events (the webhook payload). */
export interface JobEvent {
  id: string;
  type: string;
  occurredAt: string;
  job?: Job;
}

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed']);

/** The status a person is shown: `canceled` for a cancel, which the wire reports as failed. */
export function shownStatus(job: Pick<Job, 'status' | 'canceled'>): JobStatus | 'canceled' {
  return job.canceled ? 'canceled' : job.status;
}
