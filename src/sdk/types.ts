/**
 * The SDK's wire types. Where the server has a TypeBox schema in src/contract/ the type is derived
 * from it (`Static<typeof X>`), so a contract change is a compile error here; the rest is written by
 * hand from ../shared/spec/API.md until its route lands with a schema. Everything comes from
 * src/contract/, type-only but for the DIAGRAM_TYPES list: the compiled SDK loads no server code
 * (test/unit/import-graph.test.ts bundles it to check).
 */
import type { Static } from 'typebox';
import type { GenerateImageBody, GenerationResponse as GenerationResponseSchema, AspectRatio as AspectRatioSchema, ImageSize as ImageSizeSchema, Strictness as StrictnessSchema, ReferenceImage as ReferenceImageSchema, FormatFile as FormatFileSchema } from '../contract/generation.js';
import type { Job as JobSchema, JobList as JobListSchema, JobListQuery as JobListQuerySchema, JobStatus as JobStatusSchema } from '../contract/jobs.js';
import type { ModelList as ModelListSchema, PricingList as PricingListSchema, Model as ModelSchema } from '../contract/models.js';
import type { StoryAccepted as StoryAcceptedSchema, StoryBody, StoryResult as StoryResultSchema, StorySceneProgress } from '../contract/story.js';
import type * as P from '../contract/process.js';
import type { GenerateDiagramBody, GenerateGraphicBody, combineJsonBody, editJsonBody } from '../contract/content.js';
import type { ApiKeyList as ApiKeyListSchema, ApiKeyView, CreateKeyBody, CreatedApiKey as CreatedApiKeySchema } from '../contract/keys.js';
import type { LedgerEntry as LedgerEntrySchema, LedgerPage, LedgerQuery as LedgerQuerySchema, Profile as ProfileSchema } from '../contract/account.js';
import type { ProcessResponse as ProcessResponseSchema, UploadResponse as UploadResponseSchema } from '../contract/process.js';
import type { AccountWebhook as AccountWebhookSchema, AccountWebhookBody, DeliveryList as DeliveryListSchema, DeliveryListQuery as DeliveryListQuerySchema, RotateSecretBody, WebhookDelivery as WebhookDeliverySchema } from '../contract/webhooks.js';
import type { Quote as QuoteSchema } from '../contract/quote.js';
import type { JobProgress as JobProgressSchema, ProgressEvent as ProgressEventSchema } from '../contract/progress.js';
import type { BatchAccepted as BatchAcceptedSchema, BatchItem as BatchItemSchema, BatchItemList as BatchItemListSchema, BatchProgress as BatchProgressSchema, BatchResult as BatchResultSchema, batchCreateFields } from '../contract/batches.js';
import type { TObject } from 'typebox';

export type AspectRatio = Static<typeof AspectRatioSchema>;
export type ImageSize = Static<typeof ImageSizeSchema>;
export type Strictness = Static<typeof StrictnessSchema>;
export type ReferenceImage = Static<typeof ReferenceImageSchema>;
export type FormatFile = Static<typeof FormatFileSchema>;
export type ImageFormat = 'png' | 'jpeg' | 'webp';

export type GenerateImageRequest = Static<typeof GenerateImageBody>;
export type GenerateGraphicRequest = Static<typeof GenerateGraphicBody>;
export type GenerateDiagramRequest = Static<typeof GenerateDiagramBody>;
export type DiagramType = NonNullable<GenerateDiagramRequest['type']>;
/** The diagram types the server knows (the list its schema is built from; a plain constant module). */
export { DIAGRAM_TYPES } from '../contract/content-kinds.js';
export type GenerationResponse = Static<typeof GenerationResponseSchema>;

export type StoryRequest = Static<typeof StoryBody>;
export type StoryAccepted = Static<typeof StoryAcceptedSchema>;
export type StoryResult = Static<typeof StoryResultSchema>;
export type StoryScene = Static<typeof StorySceneProgress>;

/** The seed's four statuses; a canceled job is `failed` with `canceled: true` (see `isCanceled`). */
export type JobStatus = Static<typeof JobStatusSchema>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed'];
/** Every job result the server can put in `result`; narrow with `isStoryResult` / `isGenerationResult` / `isBatchResult`. */
export type JobResult = GenerationResponse | StoryResult | ProcessResponse | BatchResult;
/**
 * A running job's live progress (Easel, issue 22): `stage`, `step`/`steps` when the backend counts
 * steps (within the current `scene` for a story), `fraction` 0…1 of the whole job, and
 * `preview_url`, a signed URL of the latest small WebP frame (404 once a newer frame replaced it).
 */
export type JobProgress = Static<typeof JobProgressSchema>;
/** A `job.progress` event of `GET /v1/jobs/{id}/events` (and an opt-in webhook body). */
export type JobProgressEvent = Omit<Static<typeof ProgressEventSchema>, 'data'> & { data: { job_id: string; progress: JobProgress } };
/**
 * A job (`GET /v1/jobs/{id}`). The schema types `result` loosely; here it is the union of create
 * responses. `progress` is there only while the job runs and its backend has reported something.
 */
export type Job<R = JobResult> = Omit<Static<typeof JobSchema>, 'result' | 'progress'> & { result?: R; progress?: JobProgress };
export type JobList = Omit<Static<typeof JobListSchema>, 'generations'> & { generations: Job[] };
export type ListJobsQuery = Static<typeof JobListQuerySchema>;

export type Model = Static<typeof ModelSchema>;
export type ModelList = Static<typeof ModelListSchema>;
export type Pricing = Static<typeof PricingListSchema>;
export type Profile = Static<typeof ProfileSchema>;

export type LedgerEntry = Static<typeof LedgerEntrySchema>;
export type Ledger = Static<typeof LedgerPage>;
export type LedgerQuery = Static<typeof LedgerQuerySchema>;

/** `POST /v1/upload` → 200. */
export type UploadResponse = Static<typeof UploadResponseSchema>;

export type EditKind = 'image' | 'graphic' | 'diagram';
/** `image_url`: https, or a signed URL of this server (e.g. an `upload_url`). Graphic and diagram edits add their own fields. */
export type EditRequest = Static<ReturnType<typeof editJsonBody>> & Partial<Pick<GenerateGraphicRequest, 'transparent_background'> & Pick<GenerateDiagramRequest, 'type'>>;
/** `input_image_urls`: 2–5 URLs, in order. */
export type CombineRequest = Static<ReturnType<typeof combineJsonBody>> & Partial<Pick<GenerateGraphicRequest, 'transparent_background'> & Pick<GenerateDiagramRequest, 'type'>>;

/** Every `/v1/process/*` answer. */
export type ProcessResponse = Static<typeof ProcessResponseSchema>;
export type CropRequest = Static<typeof P.CropBody>;
export type ResizeRequest = Static<typeof P.ResizeBody>;
export type RotateRequest = Static<typeof P.RotateBody>;
export type FlipRequest = Static<typeof P.FlipBody>;
export type TrimRequest = Static<typeof P.TrimBody>;
export type AdjustRequest = Static<typeof P.AdjustBody>;
export type OverlayRequest = Static<typeof P.OverlayBody>;
export type MetadataStripRequest = Static<typeof P.MetadataStripBody>;
export type ConvertRequest = Static<typeof P.ConvertBody>;
export type OptimizeRequest = Static<typeof P.OptimizeBody>;
export type RemoveBackgroundRequest = Static<typeof P.RemoveBackgroundBody>;

/** Whether a failed job ended because it was canceled (Easel's `canceled: true`, `error.code` "canceled"). */
export function isCanceled(job: Pick<Job, 'status' | 'canceled'>): boolean {
  return job.canceled === true;
}

/** The status to show a person: the seed's status, or `canceled` for a cancel (which the wire shows as failed). */
export function displayStatus(job: Pick<Job, 'status' | 'canceled'>): JobStatus | 'canceled' {
  return isCanceled(job) ? 'canceled' : job.status;
}

export function isStoryResult(r: unknown): r is StoryResult {
  return typeof r === 'object' && r !== null && Array.isArray((r as StoryResult).scenes) && Array.isArray((r as StoryResult).character_refs);
}
export function isGenerationResult(r: unknown): r is GenerationResponse {
  return typeof r === 'object' && r !== null && typeof (r as GenerationResponse).formats === 'object' && (r as GenerationResponse).formats !== null;
}
export function isBatchResult(r: unknown): r is BatchResult {
  return typeof r === 'object' && r !== null && typeof (r as BatchResult).items_total === 'number' && typeof (r as BatchResult).results_url === 'string';
}
export function isProcessResult(r: unknown): r is ProcessResponse {
  return typeof r === 'object' && r !== null && typeof (r as ProcessResponse).image_url === 'string';
}

export type ApiKey = Static<typeof ApiKeyView>;
/** `admin` also manages keys, account settings and the webhook; `generate` creates and reads jobs. */
export type KeyScope = ApiKey['scope'];
export type ApiKeyList = Omit<Static<typeof ApiKeyListSchema>, 'keys'> & { keys: ApiKey[] };
export type CreateKeyRequest = Static<typeof CreateKeyBody>;
export type CreatedApiKey = Static<typeof CreatedApiKeySchema>;

/** `POST /v1/quote` → 200: what a create would cost, and whether the balance covers it now. */
export type Quote = Static<typeof QuoteSchema>;

/** The account's default webhook and signing secret (`GET`/`PUT /v1/account/webhook`, rotate-secret). */
export type AccountWebhook = Static<typeof AccountWebhookSchema>;
export type SetWebhookRequest = Static<typeof AccountWebhookBody>;
export type RotateSecretRequest = Static<typeof RotateSecretBody>;
/** One delivery and every attempt (`GET /v1/webhooks/deliveries`, redeliver). */
export type WebhookDelivery = Static<typeof WebhookDeliverySchema>;
export type DeliveryList = Omit<Static<typeof DeliveryListSchema>, 'deliveries'> & { deliveries: WebhookDelivery[] };
/** `job_id`, `limit`, and `offset` or `starting_after` (a page's `next_cursor`). */
export type DeliveryListQuery = Static<typeof DeliveryListQuerySchema>;

/**
 * `POST /v1/batches` as JSON: `operation` is the job operation every item runs (image, graphic,
 * diagram, edit_*, combine_*, process_*; not story), `items` one create body of it each, merged
 * over `defaults`; the batch's own `metadata`, `max_cost_eur`, `priority`, `retention_days`, webhook.
 */
export type BatchCreateRequest = { operation: string } & Static<TObject<typeof batchCreateFields>>;
/** The same without `items`: the text fields of a multipart (JSONL) create. */
export type BatchOptions = Omit<BatchCreateRequest, 'items'>;
/** 202 `{job_id, poll_url, items_total, price_eur}`: every item's price is held. */
export type BatchAccepted = Static<typeof BatchAcceptedSchema>;
/** A batch job's `batch` field: the items' counts by state, and where the items are. */
export type BatchProgress = Static<typeof BatchProgressSchema>;
/** A completed batch's `result` (its counts; the items' results are in its items and results.jsonl). */
export type BatchResult = Static<typeof BatchResultSchema>;
/** A batch as a job (`GET /v1/batches/{id}` = `GET /v1/jobs/{id}`), `operation: "batch"`. */
export type BatchJob = Job<BatchResult>;
/** One item (`…/items`, one line of `…/results.jsonl`); a completed item's `result` is its operation's create response. */
export type BatchItem = Omit<Static<typeof BatchItemSchema>, 'result'> & { result?: GenerationResponse | ProcessResponse };
export type BatchItemList = Omit<Static<typeof BatchItemListSchema>, 'items'> & { items: BatchItem[] };
/** An item's state as a filter: `failed` includes canceled items, `canceled` selects them alone. */
export type BatchItemStatus = 'pending' | 'processing' | 'completed' | 'failed' | 'canceled';
export interface BatchItemQuery {
  /** One status or several (sent as a comma list). */
  status?: BatchItemStatus | BatchItemStatus[];
  /** 1–500, default 100. */
  limit?: number;
  offset?: number;
  /** A page's `next_cursor`: the page after it (not with a non-zero offset). */
  starting_after?: string;
}
