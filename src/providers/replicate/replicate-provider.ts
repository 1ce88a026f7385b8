/**
 * Replicate adapter, through the predictions API (replicate.com/docs "Create a prediction"):
 *   POST {base}/v1/models/{owner}/{name}/predictions   {input}            official models: "owner/name"
 *   POST {base}/v1/predictions                         {version, input}   any version: "owner/name:version"
 *     Authorization: Bearer <token>, `Prefer: wait=N` (sync mode: held until done or N s pass)
 *     → 201 prediction {id, status, output, error, urls: {get, cancel}}
 *   GET  urls.get until status is succeeded | failed | canceled (| aborted)
 *   GET  output (a URL or data URI, or a list whose first item is used): Replicate's file CDN,
 *        fetched at once without our token (SSRF-guarded)
 *   POST urls.cancel           when we give up (deadline, job canceled), best effort
 * `failed` whose error reads like a safety block ("NSFW content detected", "flagged as sensitive
 * (E005)") → content_rejected (output unless the text blames the prompt/input); any other
 * failure → non-retryable upstream_error (the model's own error text is not passed on);
 * canceled/aborted → upstream_error.
 *
 * Models: `vendor_model` names the model and optionally edit/combine routes with their input field:
 *   "black-forest-labs/flux-1.1-pro edit=black-forest-labs/flux-kontext-pro#input_image combine=google/nano-banana#image_input[]"
 * Field forms: `name` (one image), `name[]` (a list), `name_*` (name_1, name_2, …).
 * Defaults: `input_image` for edit, `input_images[]` for combine. Images go as data URIs.
 *
 * Progress (issue 22): `starting` (a worker booting, or waiting for one) → loading; `processing`
 * → sampling, with the last step counter in `logs` (the tqdm bar " 45%|████▌ | 9/20 [...]").
 * No previews. With a progress sink the sync wait is held short (PROGRESS_SYNC_WAIT_S) so a slow
 * prediction moves on to polling, where progress can be seen. Params: the model, the version
 * Replicate reports, the seed from the logs ("Using seed: N") or else the one sent, and
 * steps/guidance when `input` sent them.
 *
 * Limits: size is sent as `aspect_ratio` (nearest supported); reference images only where the
 * model takes several images (generate with references uses the combine route when there is
 * one), otherwise figures are described in words. Data URIs make large inputs large requests
 * (Replicate suggests its files API above a few MB; not used here). No multi-turn.
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
import type { CombineInput, EditInput, GenerateInput, ImageProvider, InputImage, Operation, ProgressSink, ProviderCapabilities, ProviderOutput, ProviderProgress } from '../port.js';
import { lastStepCount, loggedSeed } from '../vendor/log-steps.js';
import { sentParams } from '../vendor/sent-params.js';
import { progressReporter } from '../vendor/progress.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed, safetyBlocked } from '../vendor/failure.js';
import { vendorFetch } from '../vendor/http.js';
import { Limiter } from '../vendor/limiter.js';

export const REPLICATE_VENDOR = 'Replicate';
export const REPLICATE_DEFAULT_BASE_URL = 'https://api.replicate.com';

/** `EASEL_REPLICATE_API_KEY`, `_BASE_URL` (default https://api.replicate.com), `_TIMEOUT_MS` (default 180 s), `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function replicateConfig(): VendorConfig {
  return vendorConfig(REPLICATE_VENDOR, { baseUrl: REPLICATE_DEFAULT_BASE_URL, timeoutMs: 180_000 });
}

/** How input images are put into `input`: one field, a list field, or `field_1`, `field_2`, …. */
export type ReplicateImageMode = 'single' | 'array' | 'numbered';

export interface ReplicateImageModel {
  /** `owner/name` or `owner/name:version`. */
  model: string;
  field: string;
  mode: ReplicateImageMode;
  /** Most images a list/numbered field takes (default 10). */
  maxImages?: number;
}

export type ReplicateSizing = 'aspect_ratio' | 'dimensions' | 'none';

export interface ReplicateOptions {
  /** Share one breaker / limiter between every model of the same Replicate account. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** Default 'aspect_ratio'. */
  sizing?: ReplicateSizing;
  aspectRatios?: readonly string[];
  /** Edit / combine routes; override what the vendor_model string says. */
  edit?: ReplicateImageModel;
  combine?: ReplicateImageModel;
  /** Extra `input` fields for every prediction. */
  input?: Record<string, unknown>;
  /** Seconds for `Prefer: wait` (1–60). Default 60; never more than the deadline leaves. */
  syncWaitSeconds?: number;
  poll?: Partial<PollSchedule>;
  maxResultBytes?: number;
  allowLoopbackResults?: boolean;
}

const REPLICATE_ASPECT_RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'] as const;
const RUNNING = new Set(['starting', 'processing']);
/** The sync wait while someone watches progress: long enough for a fast model, short enough to poll a slow one. */
export const PROGRESS_SYNC_WAIT_S = 5;

interface Prediction {
  id?: unknown;
  version?: unknown;
  logs?: unknown;
  status?: unknown;
  output?: unknown;
  error?: unknown;
  urls?: { get?: unknown; cancel?: unknown };
}

/** `owner/name` → the official-model endpoint; `owner/name:version` → /v1/predictions with that version. */
export function predictionTarget(model: string): { url: string; version?: string } {
  const m = /^([\w.-]+)\/([\w.-]+)(?::([\w.-]+))?$/.exec(model);
  if (!m) throw new Error(`"${model}" is not a Replicate model reference (owner/name or owner/name:version)`);
  return m[3] ? { url: '/v1/predictions', version: m[3] } : { url: `/v1/models/${m[1]}/${m[2]}/predictions` };
}

/** `name` → single, `name[]` → array, `name_*` → numbered. */
export function parseImageField(spec: string): { field: string; mode: ReplicateImageMode } {
  const m = /^([A-Za-z][\w]*)(\[\]|_\*)?$/.exec(spec);
  if (!m) throw new Error(`"${spec}" is not an input field (name, name[] or name_*)`);
  return { field: m[1]!, mode: m[2] === '[]' ? 'array' : m[2] === '_*' ? 'numbered' : 'single' };
}

/** A running prediction as progress: booting (starting) or sampling with the logs' step counter. */
export function replicateProgress(p: Prediction): ProviderProgress | null {
  if (p.status === 'starting') return { stage: 'loading' };
  if (p.status !== 'processing') return null;
  const c = typeof p.logs === 'string' ? lastStepCount(p.logs) : null;
  return c ? { stage: 'sampling', step: c.step, steps: c.steps, fraction: c.step / c.steps } : { stage: 'sampling' };
}

export class ReplicateProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly adapterVersion = 'replicate/2';
  readonly breaker: CircuitBreaker;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;
  readonly combine?: (input: CombineInput) => Promise<ProviderOutput>;
  private readonly limiter: Limiter;
  private readonly schedule: PollSchedule;
  private readonly model: string;
  private readonly combineModel?: ReplicateImageModel;

  constructor(
    readonly id: string,
    /** `owner/name` or `owner/name:version`, optionally with edit=/combine= routes (see the file comment). */
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = replicateConfig(),
    private readonly options: ReplicateOptions = {},
  ) {
    const spec = parseVendorModel(vendorModel);
    const route = (r: { model: string; field?: string } | undefined, def: string): ReplicateImageModel | undefined =>
      r ? { model: r.model, ...parseImageField(r.field ?? def) } : undefined;
    const editModel = options.edit ?? route(spec.edit, 'input_image');
    const combineModel = options.combine ?? route(spec.combine, 'input_images[]');
    // Bad references fail at start-up, not on the first job.
    for (const m of [spec.model, editModel?.model, combineModel?.model]) if (m) predictionTarget(m);
    this.model = spec.model;
    this.combineModel = combineModel;
    this.breaker = options.breaker ?? new CircuitBreaker(cfg.vendor);
    this.limiter = options.limiter ?? new Limiter(cfg.maxConcurrency);
    this.schedule = { ...DEFAULT_POLL_SCHEDULE, ...options.poll };
    const operations: Operation[] = ['generate'];
    if (editModel) {
      operations.push('edit');
      this.edit = (input) => this.withImages(editModel, input, [input.image]);
    }
    if (combineModel) {
      operations.push('combine');
      this.combine = (input) => this.withImages(combineModel, input, input.images);
    }
    this.capabilities = { operations, multiturn: false, maxConcurrency: cfg.maxConcurrency };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    if (hasReferences(input) && this.combineModel && this.combineModel.mode !== 'single') return this.withImages(this.combineModel, input, []);
    return this.run(this.model, requestImages(input, [], 0).text, {}, input);
  }

  private async withImages(m: ReplicateImageModel, input: GenerateInput, lead: InputImage[]): Promise<ProviderOutput> {
    const max = m.mode === 'single' ? 1 : (m.maxImages ?? 10);
    if (lead.length > max) throw new JobFailure('upstream_error', `Replicate model ${m.model} takes at most ${max} input image${max === 1 ? '' : 's'}; this request has ${lead.length}.`, false);
    const { text, images } = requestImages(input, lead, max);
    const uris = await Promise.all(images.map(dataUri));
    const fields =
      m.mode === 'array' ? { [m.field]: uris } : m.mode === 'numbered' ? Object.fromEntries(uris.map((u, i) => [`${m.field}_${i + 1}`, u])) : { [m.field]: uris[0] };
    return this.run(m.model, text, fields, input);
  }

  private run(model: string, prompt: string, imageFields: Record<string, unknown>, input: GenerateInput): Promise<ProviderOutput> {
    const target = predictionTarget(model);
    const sizing = this.options.sizing ?? 'aspect_ratio';
    const size =
      sizing === 'aspect_ratio'
        ? { aspect_ratio: nearestAspectRatio(input.width, input.height, this.options.aspectRatios ?? REPLICATE_ASPECT_RATIOS) }
        : sizing === 'dimensions'
          ? { width: input.width, height: input.height }
          : {};
    const sent: Record<string, unknown> = { prompt, ...size, seed: input.seed, output_format: 'png', ...imageFields, ...this.options.input };
    const body = { ...(target.version ? { version: target.version } : {}), input: sent };
    const report = progressReporter(input.onProgress, input.signal);
    const watched = input.onProgress !== undefined;
    return runGeneration(this.cfg, this.limiter, input.signal, async (deadline, key) => {
      const { image, prediction } = await this.predict(target.url, body, deadline, { authorization: `Bearer ${key}` }, report, watched);
      const seed = typeof prediction.logs === 'string' ? loggedSeed(prediction.logs) : null;
      const params = sentParams(model.replace(/:.*$/, ''), sent, seed, { steps: ['num_inference_steps', 'steps'], guidance: ['guidance', 'guidance_scale'] });
      // "hidden": Replicate does not show an official model's version.
      const version = typeof prediction.version === 'string' && prediction.version !== 'hidden' ? prediction.version : target.version;
      if (version) params.vendor_version = version;
      return { ...image, params };
    });
  }

  private async predict(
    url: string,
    body: unknown,
    deadline: Deadline,
    auth: Record<string, string>,
    report: ProgressSink,
    watched: boolean,
  ): Promise<{ image: ProviderOutput; prediction: Prediction }> {
    const { cfg, breaker } = this;
    const v = cfg.vendor;
    // Hold the request open while the model runs (sync mode), but never past our own deadline —
    // and only briefly when progress is watched (nothing is learnt while the request is held).
    const wanted = Math.min(this.options.syncWaitSeconds ?? 60, watched ? PROGRESS_SYNC_WAIT_S : 60);
    const wait = Math.min(wanted, 60, Math.floor(deadline.remainingMs() / 1000) - 1);
    const headers = wait >= 1 ? { ...auth, prefer: `wait=${wait}` } : auth;
    let { json: p } = await callJson<Prediction>(cfg, breaker, deadline, { method: 'POST', url, headers, json: body }, this.options.retryBaseMs);
    if (typeof p.id !== 'string' || typeof p.status !== 'string') throw malformed(v, 'a prediction without id and status');
    const first = replicateProgress(p);
    if (first) report(first);

    if (RUNNING.has(p.status)) {
      const getUrl = p.urls?.get;
      const cancelUrl = p.urls?.cancel;
      // Our token goes to urls.get: only if it is Replicate's own.
      if (!vendorOwnsUrl(cfg.baseUrl, getUrl)) throw malformed(v, 'a running prediction without urls.get on its own host');
      try {
        p = await pollUntil(deadline, this.schedule, async () => {
          const { json } = await callJson<Prediction>(cfg, breaker, deadline, { method: 'GET', url: getUrl, headers: auth }, this.options.retryBaseMs);
          if (typeof json.status !== 'string') throw malformed(v, 'a prediction without status');
          const progress = replicateProgress(json);
          if (progress) report(progress);
          return RUNNING.has(json.status) ? undefined : json;
        });
      } catch (e) {
        // Gave up (deadline or caller abort): cancel it so it stops costing GPU time. Best effort.
        if (deadline.signal.aborted && vendorOwnsUrl(cfg.baseUrl, cancelUrl)) {
          vendorFetch({ ...cfg, maxRetries: 0, timeoutMs: 5000 }, new CircuitBreaker(v), { method: 'POST', url: cancelUrl, headers: auth }).catch(() => {});
        }
        throw e;
      }
    }

    switch (p.status) {
      case 'succeeded': {
        const out = Array.isArray(p.output) ? p.output[0] : p.output;
        if (typeof out !== 'string') throw malformed(v, 'a succeeded prediction without an output URL');
        const image = await fetchResultImage(v, out, {
          deadline,
          maxBytes: this.options.maxResultBytes ?? 50 * 1024 * 1024,
          maxRetries: cfg.maxRetries,
          retryBaseMs: this.options.retryBaseMs,
          allowLoopbackHttp: this.options.allowLoopbackResults ?? isLoopbackBase(cfg.baseUrl),
        });
        return { image, prediction: p };
      }
      case 'failed': {
        const stage = safetyStage(typeof p.error === 'string' ? p.error : '');
        if (stage) throw safetyBlocked(v, stage);
        // The model's own error text can hold anything (stack traces, paths): it stays out of the message.
        throw new JobFailure('upstream_error', `${v}'s model failed to generate the image.`, false);
      }
      case 'canceled':
      case 'aborted':
        throw new JobFailure('upstream_error', `${v} canceled the prediction before it finished.`, false);
      default:
        throw malformed(v, 'an unknown prediction status');
    }
  }
}

/**
 * Which side a failed prediction's safety message blames. Replicate's models word this
 * differently: "NSFW content detected…" (the safety checker on the output), "…flagged as
 * sensitive… (E005)" (BFL-backed models, input or output). Input only when the text says so.
 */
export function safetyStage(error: string): 'input' | 'output' | null {
  if (!/nsfw|flagged as sensitive|\bE005\b|safety (checker|filter|system)|content (policy|moderat)/i.test(error)) return null;
  if (/nsfw content detected|\boutput\b|generated image/i.test(error)) return 'output';
  return /\b(prompt|input)\b/i.test(error) ? 'input' : 'output';
}
