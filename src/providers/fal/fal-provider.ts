/**
 * fal.ai adapter, through fal's queue API (docs.fal.ai "Queue"):
 *   POST {base}/{model_id}      Authorization: Key <key>, JSON input
 *                               → {request_id, status_url, response_url, cancel_url}
 *   GET  status_url             → {status: IN_QUEUE | IN_PROGRESS | COMPLETED[, error, error_type]}
 *   GET  response_url           → {images: [{url, content_type, width, height}], has_nsfw_concepts?: [bool], seed}
 *   GET  images[0].url          fal's CDN, fetched at once without our key (SSRF-guarded)
 *   PUT  cancel_url             when we give up (deadline, job canceled), best effort
 * Safety: `has_nsfw_concepts[0] === true` → content_rejected (output). A request a model refused
 * ends COMPLETED and its response_url answers 422 `{detail: [{loc, msg, type}]}`;
 * `type: content_policy_violation` → content_rejected (input, unless `loc` points elsewhere).
 * Other failures fal reports (COMPLETED with `error`) are final: fal retried them already.
 *
 * Models: the `vendor_model` string names the generate model and, optionally, the models for
 * edit and combine (fal serves those as separate endpoints):
 *   "fal-ai/flux-pro/v1.1 edit=fal-ai/flux-pro/kontext combine=fal-ai/flux-pro/kontext/max/multi"
 * `#image_url` / `#image_urls` after an edit/combine model picks its input field (defaults:
 * image_url for edit, image_urls for combine). Input images go as data URIs.
 *
 * Progress (issue 22): status is polled with `?logs=1`: IN_QUEUE → queued with `queue_position`;
 * IN_PROGRESS → sampling, with the step counter of the newest log line that has one (diffusers'
 * tqdm bar "12/28", "step 12/28"). fal gives no previews. Params: the endpoint called, the seed
 * fal reports in the result (else the one sent), steps/guidance when `input` sent them.
 *
 * Limits: generate sends `image_size: {width, height}` (aspect_ratio for the image models);
 * reference images (input.references, figure references) are sent only where the model takes a
 * list of images — generate with references goes to the combine model when one is configured —
 * otherwise figures are described in words. No multi-turn.
 */
import { JobFailure } from '../../errors.js';
import { callJson } from '../vendor/call-json.js';
import type { Deadline } from '../vendor/deadline.js';
import { parseVendorModel } from '../vendor/model-spec.js';
import { DEFAULT_POLL_SCHEDULE, pollUntil, type PollSchedule } from '../vendor/poll-until.js';
import { dataUri, hasReferences, requestImages } from '../vendor/request-images.js';
import { fetchResultImage } from '../vendor/result-image.js';
import { runGeneration } from '../vendor/run-generation.js';
import { nearestAspectRatio } from '../vendor/size-fit.js';
import { isLoopbackBase, vendorOwnsUrl } from '../vendor/url-trust.js';
import type { CombineInput, EditInput, GenerateInput, ImageProvider, InputImage, Operation, ProgressSink, ProviderCapabilities, ProviderOutput } from '../port.js';
import { lastStepCount } from '../vendor/log-steps.js';
import { sentParams } from '../vendor/sent-params.js';
import { progressReporter } from '../vendor/progress.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed, safetyBlocked } from '../vendor/failure.js';
import { vendorFetch } from '../vendor/http.js';
import { Limiter } from '../vendor/limiter.js';
import { vendorErrorBody } from '../vendor/redact.js';

export const FAL_VENDOR = 'fal.ai';
export const FAL_DEFAULT_BASE_URL = 'https://queue.fal.run';

/** `EASEL_FAL_API_KEY`, `_BASE_URL` (default https://queue.fal.run), `_TIMEOUT_MS` (default 180 s), `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function falConfig(): VendorConfig {
  return { ...vendorConfig('fal', { baseUrl: FAL_DEFAULT_BASE_URL, timeoutMs: 180_000 }), vendor: FAL_VENDOR };
}

/** How the output size is asked for: `image_size: {width, height}`, `aspect_ratio: "W:H"`, or not at all. */
export type FalSizing = 'image_size' | 'aspect_ratio' | 'none';

/** A fal model that takes input images, and the field it takes them in. */
export interface FalImageModel {
  /** e.g. `fal-ai/flux-pro/kontext` (edit), `fal-ai/flux-pro/kontext/max/multi` (combine). */
  model: string;
  /** `image_url`: exactly one data URI; `image_urls`: a list. Default image_url for edit, image_urls for combine. */
  field?: 'image_url' | 'image_urls';
  /** Default 'aspect_ratio'. */
  sizing?: FalSizing;
  /** Most images a list field takes (default 10). */
  maxImages?: number;
}

export interface FalOptions {
  /** Share one breaker / limiter between every model of the same fal account. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** Sizing for generate. Default 'image_size'. */
  sizing?: FalSizing;
  /** Ratios the models accept when sizing is 'aspect_ratio'. */
  aspectRatios?: readonly string[];
  /** Edit / combine routes; override what the vendor_model string says. */
  edit?: FalImageModel;
  combine?: FalImageModel;
  /** Extra input fields sent with every request (e.g. `{safety_tolerance: "2"}`). */
  input?: Record<string, unknown>;
  poll?: Partial<PollSchedule>;
  /** Largest result image accepted (default 50 MB). */
  maxResultBytes?: number;
  /** Accept http/loopback result URLs. Default: only when the base URL itself is on loopback. */
  allowLoopbackResults?: boolean;
}

const FAL_ASPECT_RATIOS = ['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21'] as const;

interface FalSubmitted {
  request_id?: unknown;
  status_url?: unknown;
  response_url?: unknown;
  cancel_url?: unknown;
}

interface FalStatus {
  status?: unknown;
  error?: unknown;
  error_type?: unknown;
  queue_position?: unknown;
  logs?: { message?: unknown }[] | null;
}

interface FalResult {
  images?: { url?: unknown }[];
  has_nsfw_concepts?: unknown;
  seed?: unknown;
}

/** One status answer as progress: where it waits in fal's queue, or how far sampling got. */
export function falProgress(st: FalStatus): Parameters<ProgressSink>[0] | null {
  if (st.status === 'IN_QUEUE') {
    const pos = st.queue_position;
    return { stage: 'queued', ...(Number.isInteger(pos) && (pos as number) >= 0 ? { queuePosition: pos as number } : {}) };
  }
  if (st.status !== 'IN_PROGRESS') return null;
  const lines = Array.isArray(st.logs) ? st.logs.map((l) => (l && typeof l.message === 'string' ? l.message : '')) : [];
  // The newest line that counts steps is where sampling is now.
  for (let i = lines.length - 1; i >= 0; i--) {
    const c = lastStepCount(lines[i]!);
    if (c) return { stage: 'sampling', step: c.step, steps: c.steps, fraction: c.step / c.steps };
  }
  return { stage: 'sampling' };
}

export class FalProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly adapterVersion = 'fal/2';
  readonly breaker: CircuitBreaker;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;
  readonly combine?: (input: CombineInput) => Promise<ProviderOutput>;
  private readonly limiter: Limiter;
  private readonly schedule: PollSchedule;
  private readonly model: string;
  private readonly editModel?: FalImageModel;
  private readonly combineModel?: FalImageModel;

  constructor(
    readonly id: string,
    /** The generate model, optionally with edit=/combine= routes (see the file comment). */
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = falConfig(),
    private readonly options: FalOptions = {},
  ) {
    const spec = parseVendorModel(vendorModel);
    for (const f of [spec.edit?.field, spec.combine?.field]) {
      if (f !== undefined && f !== 'image_url' && f !== 'image_urls') throw new Error(`fal model "${vendorModel}": the input field must be #image_url or #image_urls`);
    }
    this.model = spec.model;
    this.editModel = options.edit ?? (spec.edit as FalImageModel | undefined);
    this.combineModel = options.combine ?? (spec.combine as FalImageModel | undefined);
    this.breaker = options.breaker ?? new CircuitBreaker(cfg.vendor);
    this.limiter = options.limiter ?? new Limiter(cfg.maxConcurrency);
    this.schedule = { ...DEFAULT_POLL_SCHEDULE, ...options.poll };
    const operations: Operation[] = ['generate'];
    const edit = this.editModel;
    if (edit) {
      operations.push('edit');
      this.edit = (input) => this.withImages(edit, 'image_url', input, [input.image]);
    }
    const combine = this.combineModel;
    if (combine) {
      operations.push('combine');
      this.combine = (input) => this.withImages(combine, 'image_urls', input, input.images);
    }
    this.capabilities = { operations, multiturn: false, maxConcurrency: cfg.maxConcurrency };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    // Reference images need a model that takes images: the combine model, when there is one.
    if (hasReferences(input) && this.combineModel && (this.combineModel.field ?? 'image_urls') === 'image_urls') {
      return this.withImages(this.combineModel, 'image_urls', input, []);
    }
    const { text } = requestImages(input, [], 0);
    return this.run(this.model, { prompt: text, ...this.sizing(this.options.sizing ?? 'image_size', input) }, input);
  }

  private async withImages(m: FalImageModel, defaultField: 'image_url' | 'image_urls', input: GenerateInput, lead: InputImage[]): Promise<ProviderOutput> {
    const field = m.field ?? defaultField;
    const max = field === 'image_url' ? 1 : (m.maxImages ?? 10);
    if (lead.length > max) throw new JobFailure('upstream_error', `fal.ai model ${m.model} takes at most ${max} input image${max === 1 ? '' : 's'}; this request has ${lead.length}.`, false);
    const { text, images } = requestImages(input, lead, max);
    const uris = await Promise.all(images.map(dataUri));
    const imageFields = field === 'image_url' ? { image_url: uris[0] } : { image_urls: uris };
    return this.run(m.model, { prompt: text, ...imageFields, ...this.sizing(m.sizing ?? 'aspect_ratio', input) }, input);
  }

  private sizing(kind: FalSizing, input: GenerateInput): Record<string, unknown> {
    if (kind === 'image_size') return { image_size: { width: input.width, height: input.height } };
    if (kind === 'aspect_ratio') return { aspect_ratio: nearestAspectRatio(input.width, input.height, this.options.aspectRatios ?? FAL_ASPECT_RATIOS) };
    return {};
  }

  private run(model: string, fields: Record<string, unknown>, input: GenerateInput): Promise<ProviderOutput> {
    const body: Record<string, unknown> = { ...fields, seed: input.seed, num_images: 1, output_format: 'png', ...this.options.input };
    const report = progressReporter(input.onProgress, input.signal);
    return runGeneration(this.cfg, this.limiter, input.signal, async (deadline, key) => {
      const { image, seed } = await this.queue(model, body, deadline, { authorization: `Key ${key}` }, report);
      return { ...image, params: sentParams(model, body, seed, { steps: ['num_inference_steps'], guidance: ['guidance_scale'] }) };
    });
  }

  private async queue(
    model: string,
    body: Record<string, unknown>,
    deadline: Deadline,
    auth: Record<string, string>,
    report: ProgressSink,
  ): Promise<{ image: ProviderOutput; seed: unknown }> {
    const { cfg, breaker } = this;
    const v = cfg.vendor;
    const { json: sub } = await callJson<FalSubmitted>(cfg, breaker, deadline, { method: 'POST', url: `/${model}`, headers: auth, json: body }, this.options.retryBaseMs);
    // Our key goes to status_url and response_url: only if they are fal's own.
    if (typeof sub.request_id !== 'string' || !vendorOwnsUrl(cfg.baseUrl, sub.status_url) || !vendorOwnsUrl(cfg.baseUrl, sub.response_url)) {
      throw malformed(v, 'a queue answer without request_id, status_url and response_url on its own host');
    }
    // logs=1: fal includes the app's log lines, where the step counters are.
    const statusUrl = withQuery(sub.status_url, 'logs', '1');
    const responseUrl = sub.response_url;
    report({ stage: 'queued' });

    let final: FalStatus;
    try {
      final = await pollUntil(deadline, this.schedule, async () => {
        const { json: st } = await callJson<FalStatus>(cfg, breaker, deadline, { method: 'GET', url: statusUrl, headers: auth }, this.options.retryBaseMs);
        const progress = falProgress(st);
        if (progress) report(progress);
        if (st.status === 'COMPLETED') return st;
        if (st.status === 'IN_QUEUE' || st.status === 'IN_PROGRESS') return undefined;
        throw malformed(v, 'an unknown queue status');
      });
    } catch (e) {
      // Gave up (deadline or caller abort): ask fal to drop the request so nobody pays for it.
      if (deadline.signal.aborted && vendorOwnsUrl(cfg.baseUrl, sub.cancel_url)) this.cancel(sub.cancel_url, auth);
      throw e;
    }

    let result: FalResult;
    try {
      // A request that failed on fal's side answers its error again and again: ask once.
      const once = typeof final.error === 'string' ? { ...cfg, maxRetries: 0 } : cfg;
      ({ json: result } = await callJson<FalResult>(once, breaker, deadline, { method: 'GET', url: responseUrl, headers: auth }, this.options.retryBaseMs));
    } catch (e) {
      const blocked = contentPolicy(v, e);
      if (blocked) throw blocked;
      // fal already retried the request on its side before calling it failed: that is final.
      if (typeof final.error === 'string' && e instanceof JobFailure && e.code === 'upstream_error') {
        const type = typeof final.error_type === 'string' && /^[\w.-]{1,60}$/.test(final.error_type) ? ` (${final.error_type})` : '';
        throw new JobFailure('upstream_error', `${v} could not generate the image${type}.`, false);
      }
      throw e;
    }
    const image = Array.isArray(result.images) ? result.images[0] : undefined;
    if (!image || typeof image.url !== 'string') throw malformed(v, 'a result without images[0].url');
    if (Array.isArray(result.has_nsfw_concepts) && result.has_nsfw_concepts[0] === true) throw safetyBlocked(v, 'output');
    const out = await fetchResultImage(v, image.url, {
      deadline,
      maxBytes: this.options.maxResultBytes ?? 50 * 1024 * 1024,
      maxRetries: cfg.maxRetries,
      retryBaseMs: this.options.retryBaseMs,
      allowLoopbackHttp: this.options.allowLoopbackResults ?? isLoopbackBase(cfg.baseUrl),
    });
    return { image: out, seed: result.seed };
  }

  /**
   * Best effort, not awaited: a cancel that fails changes nothing for the job. It uses a
   * throwaway breaker so housekeeping never counts for or against fal's health.
   */
  private cancel(url: string, auth: Record<string, string>): void {
    vendorFetch({ ...this.cfg, maxRetries: 0, timeoutMs: 5000 }, new CircuitBreaker(this.cfg.vendor), { method: 'PUT', url, headers: auth }).catch(() => {});
  }
}

/** `url` with one query parameter set (kept as the vendor wrote it otherwise). */
function withQuery(url: string, name: string, value: string): string {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u.toString();
}

/** fal's structured model error with `type: content_policy_violation` → a safety block (input unless `loc` names something else). */
function contentPolicy(vendor: string, e: unknown): JobFailure | null {
  const body = vendorErrorBody(e)?.json as { detail?: unknown } | null | undefined;
  const detail = Array.isArray(body?.detail) ? (body.detail as { type?: unknown; loc?: unknown }[]) : [];
  const hit = detail.find((d) => d?.type === 'content_policy_violation');
  if (!hit) return null;
  const outside = Array.isArray(hit.loc) && hit.loc.length > 0 && hit.loc[0] !== 'body';
  return safetyBlocked(vendor, outside ? 'output' : 'input');
}
