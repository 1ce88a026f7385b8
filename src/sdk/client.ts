import fs from 'node:fs';
import path from 'node:path';
import { ENDPOINTS, endpointPath, type EndpointName } from './endpoints.js';
import { EaselAbortError, EaselApiError, EaselConnectionError, EaselError, EaselTimeoutError } from './errors.js';
import { sleep, waitForJob, type WaitOptions } from './wait.js';
import { MIME_OF, sniffImageFormat } from '../contract/image-formats.js';
import { downloadAll, type DownloadedFile, type DownloadOptions } from './download.js';
import { batchForm, batchItemPages, itemQuery, parseBatchResults, type JsonlSource } from './batches.js';
import { cursorPages, pageQuery } from './pages.js';
import type {
  ApiKey, ApiKeyList, CreateKeyRequest, CreatedApiKey, AdjustRequest, CombineRequest, ConvertRequest, CropRequest, EditKind, EditRequest, FlipRequest, GenerateDiagramRequest,
  GenerateGraphicRequest, GenerateImageRequest, GenerationResponse, Job, JobList, JobResult, Ledger, LedgerQuery, ListJobsQuery,
  MetadataStripRequest, ModelList, OptimizeRequest, OverlayRequest, Pricing, ProcessResponse, Profile, RemoveBackgroundRequest,
  ResizeRequest, RotateRequest, StoryAccepted, StoryRequest, StoryResult, TrimRequest, UploadResponse,
  AccountWebhook, DeliveryList, DeliveryListQuery, LedgerEntry, Quote, RotateSecretRequest, SetWebhookRequest, WebhookDelivery,
  BatchAccepted, BatchCreateRequest, BatchItem, BatchItemList, BatchItemQuery, BatchJob, BatchOptions,
} from './types.js';

export const SDK_VERSION = '0.1.0';
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8080';

export interface EaselOptions {
  /** `esl_…`; defaults to `EASEL_API_KEY`. Public endpoints (pricing, health) work without one. */
  apiKey?: string;
  /** Defaults to `EASEL_BASE_URL`, else http://127.0.0.1:8080. */
  baseUrl?: string;
  /** A fetch implementation (defaults to the global one). */
  fetch?: typeof fetch;
  /** Retries after the first attempt, for 429, 5xx and (idempotent requests only) network errors. Default 2. */
  maxRetries?: number;
  /** Per attempt, including reading the body. Default 360 s (the server's synchronous wait is 300 s). */
  timeoutMs?: number;
  /** First backoff step; each retry doubles it (jittered), up to `retryMaxDelayMs`. Default 500 ms. */
  retryBaseMs?: number;
  /** Cap of one backoff step. Default 30 s. */
  retryMaxDelayMs?: number;
  /** A `Retry-After` longer than this is not waited for: the error is thrown. Default 60 s. */
  maxRetryAfterMs?: number;
  /** Called before each retry (logging, metrics, tests). */
  onRetry?: (info: RetryInfo) => void;
  /** Extra headers on every API request. */
  headers?: Record<string, string>;
}

export interface RetryInfo {
  endpoint: string;
  /** 1 for the first retry. */
  attempt: number;
  delayMs: number;
  /** The error that caused the retry. */
  error: EaselError;
}

export interface RequestOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  maxRetries?: number;
  /** Sent as `Idempotency-Key` on creates (one is generated otherwise, the same for every retry of the call). */
  idempotencyKey?: string;
  headers?: Record<string, string>;
}

/** Options of a synchronous create (image, graphic, diagram, edit, combine). */
export interface CreateOptions extends RequestOptions {
  /**
   * Follow the job live instead of waiting in one long request: the create is sent with
   * `Prefer: wait=0` (answered 202 with the job id at once), then the job is followed (its event
   * stream, else polling) and this is called with it at each change of status or `progress`
   * (stage, step/steps, fraction, preview_url). The promise still resolves to the finished result.
   */
  onProgress?: (job: Job) => void;
}

interface CallInit {
  params?: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  form?: FormData;
  /** Read the answer as text (JSON lines) instead of one JSON document. */
  text?: boolean;
}

export interface UploadOptions {
  filename?: string;
  /** Sniffed from the bytes (PNG, JPEG, WebP) when omitted. */
  contentType?: string;
}

const env = (k: string): string | undefined => (typeof process !== 'undefined' ? process.env[k] : undefined) || undefined;
/** `Retry-After` as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(h: string | null): number | null {
  if (!h) return null;
  if (/^\s*\d+(\.\d+)?\s*$/.test(h)) return Math.round(Number(h) * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Turns a non-2xx response into an EaselApiError, whatever its body. */
export async function toApiError(res: Response): Promise<EaselApiError> {
  const text = await res.text().catch(() => '');
  let body: Record<string, unknown> | null = null;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    /* not JSON: a proxy page or an S3 XML error */
  }
  const requestId = (typeof body?.request_id === 'string' ? body.request_id : null) ?? res.headers.get('x-request-id');
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  if (body && typeof body.error === 'string') {
    const details = body.details && typeof body.details === 'object' ? (body.details as Record<string, unknown>) : undefined;
    return new EaselApiError(res.status, body.error, typeof body.message === 'string' ? body.message : `HTTP ${res.status}`, requestId, details, retryAfterMs);
  }
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  return new EaselApiError(res.status, `http_${res.status}`, `HTTP ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`, requestId, undefined, retryAfterMs);
}

/** 202 `{job_id, poll_url}`: a create whose `Prefer: wait=N` ran out; the job is still running. */
function acceptedJobId(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  return typeof b.job_id === 'string' && typeof b.poll_url === 'string' && !('formats' in b) ? b.job_id : null;
}

/** A sync create that outlived the server's wait answers 503 with the job id; the job is still running. */
function stillRunningJobId(e: unknown): string | null {
  if (!(e instanceof EaselApiError) || e.status !== 503) return null;
  const id = e.details?.job_id;
  return typeof id === 'string' && e.details?.job_error_code === undefined ? id : null;
}

/**
 * The Easel `/v1` client. Every method maps to one row of `ENDPOINTS`; errors are `EaselApiError`
 * (server answers), `EaselConnectionError`, `EaselTimeoutError`, `EaselAbortError`, or
 * `EaselJobFailedError` (waited-for jobs).
 */
export class Easel {
  readonly baseUrl: string;
  readonly maxRetries: number;
  readonly timeoutMs: number;
  private readonly apiKey: string | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly retryBaseMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly extraHeaders: Record<string, string>;
  /** Learned on the first wait: false once the server answered that it has no job event stream. */
  sseAvailable: boolean | undefined;

  constructor(opts: EaselOptions = {}) {
    this.apiKey = opts.apiKey ?? env('EASEL_API_KEY');
    this.baseUrl = (opts.baseUrl ?? env('EASEL_BASE_URL') ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.maxRetries = opts.maxRetries ?? 2;
    this.timeoutMs = opts.timeoutMs ?? 360_000;
    this.retryBaseMs = opts.retryBaseMs ?? 500;
    this.retryMaxDelayMs = opts.retryMaxDelayMs ?? 30_000;
    this.maxRetryAfterMs = opts.maxRetryAfterMs ?? 60_000;
    this.onRetry = opts.onRetry;
    this.extraHeaders = opts.headers ?? {};
  }

  // ---- generation -------------------------------------------------------------------------

  generateImage(body: GenerateImageRequest, o?: CreateOptions): Promise<GenerationResponse> {
    return this.syncCreate('generateImage', body, o);
  }
  generateGraphic(body: GenerateGraphicRequest, o?: CreateOptions): Promise<GenerationResponse> {
    return this.syncCreate('generateGraphic', body, o);
  }
  generateDiagram(body: GenerateDiagramRequest, o?: CreateOptions): Promise<GenerationResponse> {
    return this.syncCreate('generateDiagram', body, o);
  }
  /** 202: the story runs as a job; wait with `waitForJob(job_id)` (or use `runStory`). */
  generateStory(body: StoryRequest, o?: RequestOptions): Promise<StoryAccepted> {
    return this.request('generateStory', { body }, o);
  }
  /** Submits a story and waits for it; the job's `result` holds every scene and character reference. */
  async runStory(body: StoryRequest, wait: WaitOptions = {}, o?: RequestOptions): Promise<Job<StoryResult>> {
    const { job_id } = await this.generateStory(body, { ...o, signal: o?.signal ?? wait.signal });
    return (await this.waitForJob(job_id, wait)) as Job<StoryResult>;
  }
  edit(kind: EditKind, body: EditRequest, o?: CreateOptions): Promise<GenerationResponse> {
    return this.syncCreate(`edit.${kind}`, body, o);
  }
  combine(kind: EditKind, body: CombineRequest, o?: CreateOptions): Promise<GenerationResponse> {
    return this.syncCreate(`combine.${kind}`, body, o);
  }

  // ---- jobs ---------------------------------------------------------------------------------

  getJob(id: string, o?: RequestOptions): Promise<Job> {
    return this.request('getJob', { params: { id } }, o);
  }
  getStoryJob(id: string, o?: RequestOptions): Promise<Job<StoryResult>> {
    return this.request('getStoryJob', { params: { id } }, o);
  }
  /** One page, newest first; `starting_after` (a page's `next_cursor`) or `offset` places it, filters as the query says. */
  listJobs(query: ListJobsQuery = {}, o?: RequestOptions): Promise<JobList> {
    return this.request('listJobs', { query: { ...query } }, o);
  }
  /** Every page of the filtered list, by cursor: jobs created meanwhile neither repeat nor skip one. */
  jobPages(query: ListJobsQuery = {}, o?: RequestOptions): AsyncGenerator<JobList> {
    return cursorPages((cursor) => this.listJobs(pageQuery(query, cursor), o));
  }
  /** Every job of the filtered list, newest first, across pages: `for await (const job of easel.iterateJobs({ status: 'failed' }))`. */
  async *iterateJobs(query: ListJobsQuery = {}, o?: RequestOptions): AsyncGenerator<Job> {
    for await (const page of this.jobPages(query, o)) yield* page.generations;
  }
  cancelJob(id: string, o?: RequestOptions): Promise<Job> {
    return this.request('cancelJob', { params: { id } }, o);
  }
  /** Re-runs one failed scene (0-based `n`) of a failed story; charged for that scene only. */
  retryScene(id: string, n: number, o?: RequestOptions): Promise<Job> {
    return this.request('retryScene', { params: { id, n: String(n) } }, o);
  }
  /** Fresh signed URLs for a completed job while its files are kept (410 result_expired after). */
  refreshUrls(id: string, o?: RequestOptions): Promise<Job> {
    return this.request('refreshUrls', { params: { id } }, o);
  }
  /** Price, balance and every check of a create, without creating anything. */
  quote(body: { operation: string; request: object }, o?: RequestOptions): Promise<Quote> {
    return this.request('quote', { body }, o);
  }
  /** Account defaults: `retention_days` (null = the server's), and what applies now. */
  getSettings(o?: RequestOptions): Promise<{ retention_days: number | null; effective_retention_days: number }> {
    return this.request('getSettings', {}, o);
  }
  setSettings(body: { retention_days: number | null }, o?: RequestOptions): Promise<{ retention_days: number | null; effective_retention_days: number }> {
    return this.request('setSettings', { body }, o);
  }
  getWebhook(o?: RequestOptions): Promise<AccountWebhook> {
    return this.request('getWebhook', {}, o);
  }
  /** The account's default webhook (`url`, `events`); per-request `webhook_url` overrides it. */
  setWebhook(body: SetWebhookRequest, o?: RequestOptions): Promise<AccountWebhook> {
    return this.request('setWebhook', { body }, o);
  }
  /** A new signing secret; the replaced one keeps signing beside it for `expire_previous_in_s` (default 1 day). */
  rotateWebhookSecret(body: RotateSecretRequest = {}, o?: RequestOptions): Promise<AccountWebhook> {
    return this.request('rotateWebhookSecret', { body }, o);
  }
  listDeliveries(query: DeliveryListQuery = {}, o?: RequestOptions): Promise<DeliveryList> {
    return this.request('listDeliveries', { query: { ...query } }, o);
  }
  /** Every delivery (of one job with `job_id`), oldest first, across pages by cursor. */
  async *iterateDeliveries(query: DeliveryListQuery = {}, o?: RequestOptions): AsyncGenerator<WebhookDelivery> {
    for await (const page of cursorPages((cursor) => this.listDeliveries(pageQuery(query, cursor), o))) yield* page.deliveries;
  }
  redeliver(id: string, o?: RequestOptions): Promise<WebhookDelivery> {
    return this.request('redeliver', { params: { id } }, o);
  }
  /**
   * Waits until the job is completed (returned) or failed — a cancel included — (`EaselJobFailedError`), calling
   * `onProgress` whenever its status or scene count changes. Uses the job's event stream when the
   * server offers one (reconnecting with Last-Event-ID), else polls with backoff.
   */
  waitForJob(id: string, opts: WaitOptions = {}): Promise<Job> {
    return waitForJob(this, id, opts);
  }

  // ---- batches ------------------------------------------------------------------------------

  /** A batch (202): one job of `operation` per item, every item validated and priced first; poll it with `getBatch`. */
  createBatch(body: BatchCreateRequest, o?: RequestOptions): Promise<BatchAccepted> {
    return this.request('createBatch', { body }, o);
  }
  /** A batch from JSON lines (one create body a line), sent as multipart: the form for big batches, no JSON array to build. */
  createBatchFromJsonl(jsonl: JsonlSource, options: BatchOptions, o?: RequestOptions): Promise<BatchAccepted> {
    return this.request('createBatch', { form: batchForm(jsonl, options) }, o);
  }
  /** A batch from a local JSONL file. */
  async createBatchFromFile(file: string, options: BatchOptions, o?: RequestOptions): Promise<BatchAccepted> {
    return this.createBatchFromJsonl(await fs.promises.readFile(file), options, o);
  }
  /** The batch as a job: status, `batch` counts, cost; wait for it with `waitForJob` like any job. */
  getBatch(id: string, o?: RequestOptions): Promise<BatchJob> {
    return this.request('getBatch', { params: { id } }, o);
  }
  /** One page of the batch's items in index order, filtered by status; each with its result (fresh URLs) or error. */
  listBatchItems(id: string, query: BatchItemQuery = {}, o?: RequestOptions): Promise<BatchItemList> {
    return this.request('listBatchItems', { params: { id }, query: itemQuery(query) }, o);
  }
  /** Every page of the batch's items, by cursor (see `batchItemPages`). */
  batchItemPages(id: string, query: BatchItemQuery = {}, o: { signal?: AbortSignal } = {}): AsyncGenerator<BatchItemList> {
    return batchItemPages(this, id, query, o);
  }
  /** Every item, one by one, across pages: `for await (const item of easel.batchItems(id, { status: 'failed' }))`. */
  async *batchItems(id: string, query: BatchItemQuery = {}, o: { signal?: AbortSignal } = {}): AsyncGenerator<BatchItem> {
    for await (const page of batchItemPages(this, id, query, o)) yield* page.items;
  }
  /** `results.jsonl`: every item in index order in one request (fresh signed URLs), parsed. */
  async batchResults(id: string, o?: RequestOptions): Promise<BatchItem[]> {
    return parseBatchResults(await this.request<string>('batchResults', { params: { id }, text: true }, o));
  }
  /** Cancels the batch: ended items are kept, waiting ones canceled and released; running ones finish uncharged. */
  cancelBatch(id: string, o?: RequestOptions): Promise<BatchJob> {
    return this.request('cancelBatch', { params: { id } }, o);
  }

  // ---- catalogue and account ----------------------------------------------------------------

  models(o?: RequestOptions): Promise<ModelList> {
    return this.request('models', {}, o);
  }
  pricing(o?: RequestOptions): Promise<Pricing> {
    return this.request('pricing', {}, o);
  }
  profile(o?: RequestOptions): Promise<Profile> {
    return this.request('profile', {}, o);
  }
  ledger(query: LedgerQuery = {}, o?: RequestOptions): Promise<Ledger> {
    return this.request('ledger', { query: { ...query } }, o);
  }
  /** Every ledger entry, newest first, across pages by cursor. */
  async *iterateLedger(query: LedgerQuery = {}, o?: RequestOptions): AsyncGenerator<LedgerEntry> {
    for await (const page of cursorPages((cursor) => this.ledger(pageQuery(query, cursor), o))) yield* page.entries;
  }
  /** The account's API keys (never their secrets). Needs an admin key (403 insufficient_scope otherwise). */
  listKeys(o?: RequestOptions): Promise<ApiKeyList> {
    return this.request('listKeys', {}, o);
  }
  /**
   * A new key for the same account; `key` is the secret, returned this once. Needs an admin key.
   * `scope` is `generate` (create and read jobs only) unless `{ scope: 'admin' }` is asked for.
   */
  createKey(body: CreateKeyRequest = {}, o?: RequestOptions): Promise<CreatedApiKey> {
    return this.request('createKey', { body }, o);
  }
  /** Revokes one of the account's keys (this one included): it answers 401 from then on. A generate key may revoke only itself. */
  revokeKey(id: string, o?: RequestOptions): Promise<ApiKey> {
    return this.request('revokeKey', { params: { id } }, o);
  }
  health(o?: RequestOptions): Promise<Record<string, unknown>> {
    return this.request('health', {}, { maxRetries: 0, ...o });
  }
  openapi(o?: RequestOptions): Promise<Record<string, unknown>> {
    return this.request('openapi', {}, o);
  }

  // ---- files --------------------------------------------------------------------------------

  /** `POST /v1/upload` (multipart field `image`): the `upload_url` works as any input URL. */
  upload(data: Blob | Uint8Array | ArrayBuffer, opts: UploadOptions = {}, o?: RequestOptions): Promise<UploadResponse> {
    let blob: Blob;
    if (data instanceof Blob) blob = opts.contentType ? new Blob([data], { type: opts.contentType }) : data;
    else {
      const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
      const sniffed = sniffImageFormat(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: opts.contentType ?? (sniffed ? MIME_OF[sniffed]! : 'application/octet-stream') });
    }
    const form = new FormData();
    form.append('image', blob, opts.filename ?? 'image');
    return this.request('upload', { form }, o);
  }
  /** Uploads a local file. */
  async uploadFile(file: string, o?: RequestOptions): Promise<UploadResponse> {
    return this.upload(await fs.promises.readFile(file), { filename: path.basename(file) }, o);
  }
  /**
   * Saves every image of a result (a generation, a story's scenes and character references, a
   * processed image, or a job holding one) into `dir`; see `DownloadOptions`.
   */
  downloadAll(result: JobResult | Job, dir: string, opts: DownloadOptions = {}): Promise<DownloadedFile[]> {
    return downloadAll(this, result, dir, opts);
  }

  /**
   * The running job's current preview frame (a small WebP), with the key. 404 `not_found` when
   * there is none: the job is not running, or its backend has sent no frame yet.
   */
  async jobPreview(id: string, o: RequestOptions = {}): Promise<{ bytes: Buffer; contentType: string | null }> {
    const url = this.baseUrl + endpointPath('jobPreview', { id });
    const res = await this.fetchWithRetry('jobPreview', url, { method: 'GET', headers: this.apiHeaders({ accept: 'image/webp', ...o.headers }) }, true, o);
    return res.value as { bytes: Buffer; contentType: string | null };
  }
  /**
   * A preview frame by its signed URL (`job.progress.preview_url`, or the progress itself); no key
   * is sent. It answers only while that frame is current: 404 once a newer one replaced it or the job ended.
   */
  async downloadPreview(preview: string | { preview_url?: string }, o: RequestOptions = {}): Promise<{ bytes: Buffer; contentType: string | null }> {
    const url = typeof preview === 'string' ? preview : preview.preview_url;
    if (!url) throw new EaselError('no_preview', 'This progress carries no preview_url.');
    return this.downloadBytes(url, o);
  }

  /** GETs a signed file URL (never sending the API key), with the same retry policy as API reads. */
  async downloadBytes(url: string, o: RequestOptions = {}): Promise<{ bytes: Buffer; contentType: string | null }> {
    const res = await this.fetchWithRetry('download', url, { method: 'GET', headers: {} }, true, o);
    return res.value as { bytes: Buffer; contentType: string | null };
  }

  // ---- processing (free) --------------------------------------------------------------------

  readonly process = {
    crop: (b: CropRequest, o?: RequestOptions) => this.processOp('process.crop', b, o),
    resize: (b: ResizeRequest, o?: RequestOptions) => this.processOp('process.resize', b, o),
    rotate: (b: RotateRequest, o?: RequestOptions) => this.processOp('process.rotate', b, o),
    flip: (b: FlipRequest, o?: RequestOptions) => this.processOp('process.flip', b, o),
    trim: (b: TrimRequest, o?: RequestOptions) => this.processOp('process.trim', b, o),
    adjust: (b: AdjustRequest, o?: RequestOptions) => this.processOp('process.adjust', b, o),
    overlay: (b: OverlayRequest, o?: RequestOptions) => this.processOp('process.overlay', b, o),
    metadataStrip: (b: MetadataStripRequest, o?: RequestOptions) => this.processOp('process.metadataStrip', b, o),
    convert: (b: ConvertRequest, o?: RequestOptions) => this.processOp('process.convert', b, o),
    optimize: (b: OptimizeRequest, o?: RequestOptions) => this.processOp('process.optimize', b, o),
    removeBackground: (b: RemoveBackgroundRequest, o?: RequestOptions) => this.processOp('process.removeBackground', b, o),
  };

  private processOp(name: EndpointName, body: object, o?: RequestOptions): Promise<ProcessResponse> {
    return this.request(name, { body }, o);
  }

  /**
   * A synchronous create. If the server's own wait runs out it answers 503 with the job id while
   * the job carries on; retrying would start a second job, so this waits for that job instead.
   */
  private async syncCreate(name: EndpointName, body: object, o: CreateOptions = {}): Promise<GenerationResponse> {
    const { onProgress, ...req } = o;
    // With onProgress the server answers at once (202) and the job is followed here, so its progress can be shown.
    if (onProgress) req.headers = { ...req.headers, prefer: 'wait=0' };
    const follow = async (jobId: string) => {
      const job = await this.waitForJob(jobId, { ...(o.signal ? { signal: o.signal } : {}), ...(onProgress ? { onProgress } : {}) });
      return job.result as GenerationResponse;
    };
    let answer: GenerationResponse;
    try {
      answer = await this.request<GenerationResponse>(name, { body }, req);
    } catch (e) {
      const jobId = stillRunningJobId(e);
      if (!jobId) throw e;
      return follow(jobId);
    }
    const accepted = acceptedJobId(answer);
    return accepted ? follow(accepted) : answer;
  }

  // ---- transport ----------------------------------------------------------------------------

  /** One API call by endpoint name: auth, JSON, Idempotency-Key on creates, retries. */
  async request<T>(name: EndpointName, init: CallInit = {}, o: RequestOptions = {}): Promise<T> {
    const ep = ENDPOINTS[name];
    let url = this.baseUrl + endpointPath(name, init.params);
    if (init.query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(init.query)) if (v !== undefined) qs.set(k, String(v));
      if ([...qs].length) url += `?${qs}`;
    }
    const headers = this.apiHeaders(o.headers);
    let body: string | FormData | undefined;
    if (init.form) body = init.form;
    else if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers['content-type'] = 'application/json';
    }
    if (ep.method === 'POST' && name !== 'cancelJob' && name !== 'cancelBatch') headers['idempotency-key'] = o.idempotencyKey ?? globalThis.crypto.randomUUID();
    if (init.text) headers.accept = 'application/x-ndjson, text/plain';
    const res = await this.fetchWithRetry(name, url, { method: ep.method, headers, ...(body !== undefined ? { body } : {}) }, ep.method === 'GET', o, init.text ? 'text' : 'json');
    return res.value as T;
  }

  /** Opens a job's event stream. null: this server has no such stream (the caller polls instead). */
  async openEventStream(id: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response | null> {
    const headers = this.apiHeaders({ accept: 'text/event-stream', 'cache-control': 'no-cache' });
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    let res: Response;
    try {
      res = await this.fetchImpl(this.baseUrl + endpointPath('jobEvents', { id }), { method: 'GET', headers, signal });
    } catch (e) {
      if (signal.aborted) throw new EaselAbortError();
      throw new EaselConnectionError(`Could not reach ${this.baseUrl}: ${(e as Error).message}`, e);
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.ok && type.startsWith('text/event-stream')) return res;
    if (res.ok || [404, 405, 406, 501].includes(res.status)) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    throw await toApiError(res);
  }

  private apiHeaders(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { accept: 'application/json', 'user-agent': `easel-sdk/${SDK_VERSION}`, ...this.extraHeaders, ...extra };
    if (this.apiKey) h.authorization = `Bearer ${this.apiKey}`;
    return h;
  }

  private backoffMs(attempt: number): number {
    const step = Math.min(this.retryMaxDelayMs, this.retryBaseMs * 2 ** attempt);
    return Math.round(step / 2 + (Math.random() * step) / 2);
  }

  private async fetchWithRetry(
    label: string,
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string | FormData },
    idempotent: boolean,
    o: RequestOptions,
    read: 'json' | 'text' | 'bytes' = 'bytes',
  ): Promise<{ value: unknown }> {
    const maxRetries = o.maxRetries ?? this.maxRetries;
    for (let attempt = 0; ; attempt++) {
      let error: EaselError;
      let delay: number;
      try {
        return await this.fetchOnce(url, init, o, read);
      } catch (e) {
        if (!(e instanceof EaselError) || e instanceof EaselAbortError) throw e;
        error = e;
        if (e instanceof EaselApiError) {
          const retryable = (e.status === 429 || e.status >= 500) && stillRunningJobId(e) === null;
          if (!retryable || attempt >= maxRetries) throw e;
          if (e.retryAfterMs !== null && e.retryAfterMs > this.maxRetryAfterMs) throw e;
          delay = e.retryAfterMs !== null ? e.retryAfterMs + Math.round(Math.random() * Math.min(1000, this.retryBaseMs)) : this.backoffMs(attempt);
        } else {
          // No answer at all: only a request that is safe to repeat is sent again.
          if (!idempotent || attempt >= maxRetries) throw e;
          delay = this.backoffMs(attempt);
        }
      }
      this.onRetry?.({ endpoint: label, attempt: attempt + 1, delayMs: delay, error });
      await sleep(delay, o.signal);
    }
  }

  private async fetchOnce(
    url: string,
    init: { method: string; headers: Record<string, string>; body?: string | FormData },
    o: RequestOptions,
    read: 'json' | 'text' | 'bytes',
  ): Promise<{ value: unknown }> {
    if (o.signal?.aborted) throw new EaselAbortError();
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, timeout]) : timeout;
    const fail = (e: unknown): never => {
      if (e instanceof EaselError) throw e;
      if (o.signal?.aborted) throw new EaselAbortError();
      if (timeout.aborted) throw new EaselTimeoutError(`${init.method} ${url} got no complete answer within ${timeoutMs} ms.`);
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new EaselConnectionError(`Could not reach ${new URL(url).origin}: ${cause?.code ?? cause?.message ?? (e as Error).message}`, e);
    };
    try {
      const res = await this.fetchImpl(url, { ...init, signal });
      if (!res.ok) throw await toApiError(res);
      if (read === 'bytes') return { value: { bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get('content-type') } };
      const text = await res.text();
      if (read === 'text') return { value: text };
      if (!text) return { value: undefined };
      try {
        return { value: JSON.parse(text) };
      } catch {
        throw new EaselApiError(res.status, 'invalid_response', `The server answered ${res.status} with a body that is not JSON.`, res.headers.get('x-request-id'), undefined);
      }
    } catch (e) {
      return fail(e);
    }
  }
}
