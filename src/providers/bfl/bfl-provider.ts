/**
 * Black Forest Labs FLUX adapter, through the BFL API (docs.bfl.ai):
 *   POST {base}/v1/{model}   x-key: <key>, JSON {prompt, width+height | aspect_ratio, seed,
 *                            output_format, input_image, input_image_2, …}  → {id, polling_url}
 *   GET  polling_url         x-key: <key>  → {status, result: {sample}, details}
 *     Ready             → result.sample: a signed delivery URL that expires within minutes,
 *                          downloaded at once (no key; SSRF-guarded) inside the same deadline
 *     Request Moderated → content_rejected (input);  Content Moderated → content_rejected (output)
 *     Error / Failed    → non-retryable upstream_error
 *     Task not found    → tolerated a few times (a fresh task may not be visible yet), then failed
 *     anything else (Pending, Processing, Queued…) → keep polling
 * Progress (issue 22): a task still running reports `progress` (number or null, BFL's API
 * reference "Get Result"): null → queued (not started yet), a number → sampling with that fraction
 * (read as 0…1; a value above 1 as percent). No previews. Params: the endpoint, the seed the
 * result reports (else the one sent), steps/guidance when `input` sent them.
 *
 * polling_url may be on a regional host (api.eu1.bfl.ai …): the key goes there only when it is
 * under the base URL's parent domain.
 *
 * Models: `vendor_model` is the endpoint name (flux-pro-1.1, flux-kontext-pro, flux-2-pro, …),
 * optionally with routes: "flux-pro-1.1 edit=flux-kontext-pro combine=flux-kontext-max".
 * Kontext and FLUX.2 models take images themselves, so for them edit/combine are on by default.
 *
 * Limits: FLUX 1.1 [pro]-style models get width/height scaled into 256–1440 and snapped to
 * multiples of 32 (the image comes back at that size); kontext models get the nearest
 * aspect_ratio. Up to 4 input images (kontext; `maxImages` to change). Reference images go
 * along only to models that take images and while they fit; otherwise figures are described in
 * words. No multi-turn.
 */
import { JobFailure } from '../../errors.js';
import { callJson } from '../vendor/call-json.js';
import type { Deadline } from '../vendor/deadline.js';
import { parseVendorModel } from '../vendor/model-spec.js';
import { DEFAULT_POLL_SCHEDULE, pollUntil, type PollSchedule } from '../vendor/poll-until.js';
import { base64Image, hasReferences, requestImages } from '../vendor/request-images.js';
import { fetchResultImage } from '../vendor/result-image.js';
import { runGeneration } from '../vendor/run-generation.js';
import { fitDimensions, nearestAspectRatio } from '../vendor/size-fit.js';
import { isLoopbackBase, vendorOwnsUrl } from '../vendor/url-trust.js';
import type { CombineInput, EditInput, GenerateInput, ImageProvider, InputImage, Operation, ProgressSink, ProviderCapabilities, ProviderOutput, ProviderProgress } from '../port.js';
import { sentParams } from '../vendor/sent-params.js';
import { progressReporter, unitFraction } from '../vendor/progress.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed, safetyBlocked } from '../vendor/failure.js';
import { Limiter } from '../vendor/limiter.js';

export const BFL_VENDOR = 'Black Forest Labs';
export const BFL_DEFAULT_BASE_URL = 'https://api.bfl.ai';

/** `EASEL_BFL_API_KEY`, `_BASE_URL` (default https://api.bfl.ai), `_TIMEOUT_MS` (default 180 s), `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function bflConfig(): VendorConfig {
  return { ...vendorConfig('bfl', { baseUrl: BFL_DEFAULT_BASE_URL, timeoutMs: 180_000 }), vendor: BFL_VENDOR };
}

export type BflSizing = 'dimensions' | 'aspect_ratio';

export interface BflOptions {
  /** Share one breaker / limiter between every model of the same BFL account. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** Default: 'aspect_ratio' for kontext models, 'dimensions' otherwise. */
  sizing?: BflSizing;
  /** For 'dimensions' (default FLUX 1.1 [pro]: multiples of 32, 256–1440). */
  dimensionLimits?: { step: number; minSide: number; maxSide: number };
  /** For 'aspect_ratio' (kontext accepts 21:9 … 9:21). */
  aspectRatios?: readonly string[];
  /** Edit / combine routes: `{model}` overrides the vendor_model string, `false` turns one off. */
  edit?: { model: string } | false;
  combine?: { model: string } | false;
  /** Most input images a request carries (default 4: kontext's input_image … input_image_4). */
  maxImages?: number;
  /** Extra body fields for every request (e.g. `{safety_tolerance: 2}`). */
  input?: Record<string, unknown>;
  /** "Task not found" answers tolerated in a row. Default 3. */
  maxTaskNotFound?: number;
  poll?: Partial<PollSchedule>;
  maxResultBytes?: number;
  allowLoopbackResults?: boolean;
}

const BFL_ASPECT_RATIOS = ['21:9', '16:9', '3:2', '4:3', '5:4', '1:1', '4:5', '3:4', '2:3', '9:16', '9:21'] as const;
const FLUX_PRO_LIMITS = { step: 32, minSide: 256, maxSide: 1440 };
/** Endpoints that take input_image themselves. */
const TAKES_IMAGES = /kontext|flux-2/;

interface Submitted {
  id?: unknown;
  polling_url?: unknown;
}

interface Polled {
  status?: unknown;
  result?: { sample?: unknown; seed?: unknown } | null;
  details?: unknown;
  progress?: unknown;
}

/** A running task as progress: `progress` null → queued; a number → sampling, that far. */
export function bflProgress(st: Polled): ProviderProgress {
  const raw = typeof st.progress === 'number' && st.progress > 1 && st.progress <= 100 ? st.progress / 100 : st.progress;
  const fraction = unitFraction(raw);
  if (fraction !== undefined) return { stage: 'sampling', fraction };
  return { stage: st.status === 'Pending' || st.status === 'Queued' ? 'queued' : 'sampling' };
}

export class BflProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly adapterVersion = 'bfl/2';
  readonly breaker: CircuitBreaker;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;
  readonly combine?: (input: CombineInput) => Promise<ProviderOutput>;
  private readonly limiter: Limiter;
  private readonly schedule: PollSchedule;
  private readonly model: string;
  private readonly combineModel: string | null;

  constructor(
    readonly id: string,
    /** The endpoint name under /v1, optionally with edit=/combine= routes (see the file comment). */
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = bflConfig(),
    private readonly options: BflOptions = {},
  ) {
    const spec = parseVendorModel(vendorModel);
    if (spec.edit?.field || spec.combine?.field) throw new Error(`BFL model "${vendorModel}": BFL routes take no #field (images always go in input_image, input_image_2, …)`);
    this.model = spec.model;
    const pick = (opt: { model: string } | false | undefined, route: { model: string } | undefined): string | null =>
      opt === false ? null : (opt?.model ?? route?.model ?? (TAKES_IMAGES.test(spec.model) ? spec.model : null));
    const editModel = pick(options.edit, spec.edit);
    this.combineModel = pick(options.combine, spec.combine);
    for (const m of [editModel, this.combineModel]) {
      if (m && !TAKES_IMAGES.test(m)) throw new Error(`BFL model "${m}" takes no input images; edit/combine need a kontext or FLUX.2 model`);
    }
    this.breaker = options.breaker ?? new CircuitBreaker(cfg.vendor);
    this.limiter = options.limiter ?? new Limiter(cfg.maxConcurrency);
    this.schedule = { ...DEFAULT_POLL_SCHEDULE, ...options.poll };
    const operations: Operation[] = ['generate'];
    if (editModel) {
      operations.push('edit');
      this.edit = (input) => this.run(editModel, input, [input.image]);
    }
    const combineModel = this.combineModel;
    if (combineModel) {
      operations.push('combine');
      this.combine = (input) => this.run(combineModel, input, input.images);
    }
    this.capabilities = { operations, multiturn: false, maxConcurrency: cfg.maxConcurrency };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    // References need a model that takes images: this one, or else the combine route.
    const model = hasReferences(input) && !TAKES_IMAGES.test(this.model) && this.combineModel ? this.combineModel : this.model;
    return this.run(model, input, []);
  }

  private async run(model: string, input: GenerateInput, lead: InputImage[]): Promise<ProviderOutput> {
    const max = TAKES_IMAGES.test(model) ? (this.options.maxImages ?? 4) : 0;
    if (lead.length > max) throw new JobFailure('upstream_error', `${this.cfg.vendor} model ${model} takes at most ${max} input images; this request has ${lead.length}.`, false);
    const { text, images } = requestImages(input, lead, max);
    const sizing = this.options.sizing ?? (/kontext/.test(model) ? 'aspect_ratio' : 'dimensions');
    const size =
      sizing === 'aspect_ratio'
        ? { aspect_ratio: nearestAspectRatio(input.width, input.height, this.options.aspectRatios ?? BFL_ASPECT_RATIOS) }
        : fitDimensions(input.width, input.height, this.options.dimensionLimits ?? FLUX_PRO_LIMITS);
    // input_image, input_image_2, input_image_3, …: bare base64 (BFL also takes URLs; ours are bytes).
    const b64 = await Promise.all(images.map(base64Image));
    const imageFields = Object.fromEntries(b64.map((b, i) => [i === 0 ? 'input_image' : `input_image_${i + 1}`, b]));
    const body: Record<string, unknown> = { prompt: text, ...size, seed: input.seed, output_format: 'png', ...imageFields, ...this.options.input };
    const report = progressReporter(input.onProgress, input.signal);
    return runGeneration(this.cfg, this.limiter, input.signal, async (deadline, key) => {
      const { image, seed } = await this.task(model, body, deadline, { 'x-key': key }, report);
      return { ...image, params: sentParams(model, body, seed, { steps: ['steps'], guidance: ['guidance'] }) };
    });
  }

  private async task(
    model: string,
    body: Record<string, unknown>,
    deadline: Deadline,
    auth: Record<string, string>,
    report: ProgressSink,
  ): Promise<{ image: ProviderOutput; seed: unknown }> {
    const { cfg, breaker } = this;
    const v = cfg.vendor;
    const { json: sub } = await callJson<Submitted>(cfg, breaker, deadline, { method: 'POST', url: `/v1/${model}`, headers: auth, json: body }, this.options.retryBaseMs);
    if (typeof sub.id !== 'string' || sub.id === '') throw malformed(v, 'a task answer without id');
    // Older answers carry only the id; the polling URL is then the global get_result endpoint.
    const pollingUrl = sub.polling_url ?? `${cfg.baseUrl}/v1/get_result?id=${encodeURIComponent(sub.id)}`;
    if (!vendorOwnsUrl(cfg.baseUrl, pollingUrl)) throw malformed(v, 'a polling_url outside its own domain');

    let notFound = 0;
    let seed: unknown;
    report({ stage: 'queued' });
    const sample = await pollUntil(deadline, this.schedule, async () => {
      const { json: st } = await callJson<Polled>(cfg, breaker, deadline, { method: 'GET', url: pollingUrl, headers: auth }, this.options.retryBaseMs);
      switch (st.status) {
        case 'Ready': {
          const url = st.result?.sample;
          if (typeof url !== 'string') throw malformed(v, 'a Ready task without result.sample');
          seed = st.result?.seed;
          return url;
        }
        case 'Request Moderated':
          throw safetyBlocked(v, 'input', moderationReasons(st.details));
        case 'Content Moderated':
          throw safetyBlocked(v, 'output', moderationReasons(st.details));
        case 'Error':
        case 'Failed':
          throw new JobFailure('upstream_error', `${v} failed to generate the image.`, false);
        case 'Task not found':
          if (++notFound > (this.options.maxTaskNotFound ?? 3)) throw new JobFailure('upstream_error', `${v} lost the generation task.`, false);
          return undefined;
        default:
          if (typeof st.status !== 'string') throw malformed(v, 'a poll answer without status');
          notFound = 0;
          report(bflProgress(st));
          return undefined; // Pending, Processing, Queued, …
      }
    });
    // The signed sample URL expires within minutes: download it now, inside the same deadline.
    const image = await fetchResultImage(v, sample, {
      deadline,
      maxBytes: this.options.maxResultBytes ?? 50 * 1024 * 1024,
      maxRetries: cfg.maxRetries,
      retryBaseMs: this.options.retryBaseMs,
      allowLoopbackHttp: this.options.allowLoopbackResults ?? isLoopbackBase(cfg.baseUrl),
    });
    return { image, seed };
  }
}

/** `details: {"Moderation Reasons": ["…"]}` → a short, printable reason list (vendor text, length-capped). */
function moderationReasons(details: unknown): string | undefined {
  const r = (details as Record<string, unknown> | null | undefined)?.['Moderation Reasons'];
  if (!Array.isArray(r)) return undefined;
  const s = r
    .filter((x): x is string => typeof x === 'string')
    .map((x) => x.replace(/[^\w .,'-]/g, '').slice(0, 60))
    .join(', ');
  return s || undefined;
}
