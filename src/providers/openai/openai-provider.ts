/**
 * OpenAI Images adapter.
 *
 * Endpoints and fields used (OpenAI API reference, "Images"):
 *   POST /v1/images/generations  JSON {model, prompt, n: 1, size[, response_format: "b64_json" for dall-e-*][, quality]}
 *   POST /v1/images/edits        multipart/form-data: model, prompt, n=1, size, and the input image as
 *                                `image` (one file) or repeated `image[]` (several files, GPT image models only)
 *   Auth: `Authorization: Bearer <key>`. Response: `{data: [{b64_json | url, revised_prompt?}], ...}`;
 *   GPT image models always answer b64_json; for a `url` answer the image is fetched (without our key,
 *   https only unless it is on the configured base URL's origin) — Easel re-stores every result, a
 *   client never sees a vendor URL.
 *   Errors: `{error: {message, type, param, code}}`; code `content_policy_violation` / `moderation_blocked`
 *   on a 400 → content_rejected (input); 401/403 → provider_unavailable; 429/5xx/timeouts → retried.
 *
 * Limits:
 *   - Sizes are the model's fixed set; width/height pick the nearest aspect ratio (GPT image:
 *     1024x1024, 1536x1024, 1024x1536; dall-e-3: 1024x1024, 1792x1024, 1024x1792; dall-e-2: 256/512/1024
 *     square). The image comes back at that size, not at the exact width/height asked for.
 *   - No seed parameter exists: `input.seed` is ignored, results are not reproducible.
 *   - edit and combine (and reference images on generate, which go through /edits) only for the GPT
 *     image models (gpt-image-*), up to 16 input images. dall-e-2 edits need a transparent mask and
 *     dall-e-3 has no edits, so those models only generate; their reference images are ignored and
 *     figures are described in words.
 *   - No multi-turn: `input.history` is ignored (capabilities.multiturn is false).
 *   - A 429 with code `insufficient_quota` is retried like any 429 (vendorFetch decides before the
 *     body is seen) and ends as a retryable upstream_error.
 *
 * Progress (issue 22): GPT image models stream (`stream: true, partial_images: N`, see
 * image-stream.ts): each partial frame is reported as a preview. The catalogue's `vendor_model`
 * may say how many: "gpt-image-1 partial_images=3"; 0 turns streaming off. Default 2 for GPT
 * image models, 0 (no streaming: the API has none) for dall-e. Without streaming only the stage
 * (sampling, when the request goes out) is reported.
 */
import { JobFailure } from '../../errors.js';
import type { CombineInput, EditInput, GenerateInput, ImageProvider, InputImage, Operation, ProviderCapabilities, ProviderOutput, ProgressSink } from '../port.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed, notConfigured, safetyBlocked } from '../vendor/failure.js';
import { parseJson, vendorFetch, type VendorCall, type VendorResponse } from '../vendor/http.js';
import { decodeBase64Image, toVendorInput, validateVendorImage } from '../vendor/image-bytes.js';
import { Limiter } from '../vendor/limiter.js';
import { multipartBody, type MultipartField } from '../vendor/multipart.js';
import { aspectDistance, composePrompt } from '../vendor/prompt.js';
import { progressReporter } from '../vendor/progress.js';
import { redactSecret, vendorErrorBody } from '../vendor/redact.js';
import { vendorStream } from '../vendor/stream-fetch.js';
import { OPENAI_SAFETY_CODES, readImageStream } from './image-stream.js';

export const OPENAI_VENDOR = 'OpenAI';
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com';
/** GPT image models accept up to 16 input images on /v1/images/edits. */
export const OPENAI_MAX_INPUT_IMAGES = 16;

/** `EASEL_OPENAI_API_KEY`, `_BASE_URL` (default https://api.openai.com), `_TIMEOUT_MS`, `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function openaiConfig(): VendorConfig {
  return vendorConfig(OPENAI_VENDOR, { baseUrl: OPENAI_DEFAULT_BASE_URL });
}

export interface OpenAIOptions {
  /** Share one breaker / limiter between several models of the same OpenAI account. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** `quality` for GPT image models (low | medium | high | auto); omitted when unset. */
  quality?: 'low' | 'medium' | 'high' | 'auto';
  /** Partial images to stream (0–3; 0 = no streaming). Overrides the vendor_model string. */
  partialImages?: number;
}

/** Partial images streamed by default: GPT image models stream, dall-e models cannot. */
export const OPENAI_DEFAULT_PARTIAL_IMAGES = 2;

/**
 * The `vendor_model` string of an OpenAI catalogue entry: the model id, optionally followed by
 * `partial_images=N` (0–3). Throws at start-up on anything else, or on streaming for dall-e.
 */
export function parseOpenAIModel(spec: string): { model: string; partialImages: number } {
  const [model, ...rest] = spec.trim().split(/\s+/);
  if (!model || model.includes('=')) throw new Error(`OpenAI model "${spec}": the first word must be the model`);
  const streams = openaiFamily(model) === 'gpt-image';
  let partialImages = streams ? OPENAI_DEFAULT_PARTIAL_IMAGES : 0;
  for (const p of rest) {
    const m = /^partial_images=([0-3])$/.exec(p);
    if (!m) throw new Error(`OpenAI model "${spec}": "${p}" is not partial_images=0…3`);
    partialImages = Number(m[1]);
  }
  if (partialImages > 0 && !streams) throw new Error(`OpenAI model "${spec}": only GPT image models stream partial images`);
  return { model, partialImages };
}

type Family = 'gpt-image' | 'dall-e-3' | 'dall-e-2';

export function openaiFamily(model: string): Family {
  if (/^dall-e-3/i.test(model)) return 'dall-e-3';
  if (/^dall-e-2/i.test(model)) return 'dall-e-2';
  return 'gpt-image';
}

const SIZES: Record<Family, readonly [number, number][]> = {
  'gpt-image': [[1024, 1024], [1536, 1024], [1024, 1536]],
  'dall-e-3': [[1024, 1024], [1792, 1024], [1024, 1792]],
  'dall-e-2': [[256, 256], [512, 512], [1024, 1024]],
};

/** The supported `size` nearest to width x height: by aspect ratio, or (dall-e-2, all square) the smallest that covers it. */
export function openaiSize(model: string, width: number, height: number): string {
  const fam = openaiFamily(model);
  const sizes = SIZES[fam];
  let best = sizes[0]!;
  if (fam === 'dall-e-2') {
    const side = Math.max(width, height);
    best = sizes.find(([w]) => w >= side) ?? sizes[sizes.length - 1]!;
  } else {
    for (const s of sizes) if (aspectDistance(width, height, s[0], s[1]) < aspectDistance(width, height, best[0], best[1])) best = s;
  }
  return `${best[0]}x${best[1]}`;
}

interface ImagesResponse {
  data?: { b64_json?: unknown; url?: unknown }[];
}

interface OpenAIErrorBody {
  error?: { code?: unknown; type?: unknown; message?: unknown };
}

export class OpenAIProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly adapterVersion = 'openai/2';
  readonly breaker: CircuitBreaker;
  private readonly limiter: Limiter;
  private readonly family: Family;
  /** The model id sent as `model` (the vendor_model string without its options). */
  readonly model: string;
  /** Partial images asked for per request; 0 = the plain JSON answer. */
  readonly partialImages: number;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;
  readonly combine?: (input: CombineInput) => Promise<ProviderOutput>;

  constructor(
    readonly id: string,
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = openaiConfig(),
    private readonly options: OpenAIOptions = {},
  ) {
    const spec = parseOpenAIModel(vendorModel);
    this.model = spec.model;
    this.family = openaiFamily(spec.model);
    const partials = options.partialImages ?? spec.partialImages;
    if (!Number.isInteger(partials) || partials < 0 || partials > 3) throw new Error(`OpenAI model "${vendorModel}": partialImages must be 0…3`);
    if (partials > 0 && this.family !== 'gpt-image') throw new Error(`OpenAI model "${vendorModel}": only GPT image models stream partial images`);
    this.partialImages = partials;
    this.breaker = options.breaker ?? new CircuitBreaker(cfg.vendor);
    this.limiter = options.limiter ?? new Limiter(cfg.maxConcurrency);
    const operations: Operation[] = ['generate'];
    if (this.family === 'gpt-image') {
      operations.push('edit', 'combine');
      this.edit = (input) => this.viaEdits(input, [input.image]);
      this.combine = (input) => this.viaEdits(input, input.images);
    }
    this.capabilities = { operations, multiturn: false, maxConcurrency: cfg.maxConcurrency };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    const hasRefs = input.references.length > 0 || (input.figures ?? []).some((f) => f.reference);
    // GPT image models take reference images only through /edits ("generate with references").
    if (hasRefs && this.family === 'gpt-image') return this.viaEdits(input, []);
    const { text } = composePrompt({ ...input, references: [], figures: input.figures?.map((f) => ({ key: f.key, appearance: f.appearance })) });
    const body: Record<string, unknown> = {
      model: this.model,
      prompt: text,
      n: 1,
      size: openaiSize(this.model, input.width, input.height),
    };
    if (this.family !== 'gpt-image') body.response_format = 'b64_json';
    else if (this.options.quality) body.quality = this.options.quality;
    if (this.partialImages > 0) Object.assign(body, { stream: true, partial_images: this.partialImages });
    return this.run(input, { method: 'POST', url: '/v1/images/generations', json: body });
  }

  /** /v1/images/edits with `lead` (the image to edit, or the images to combine) followed by the references. */
  private async viaEdits(input: GenerateInput, lead: InputImage[]): Promise<ProviderOutput> {
    const { text, references } = composePrompt(input, lead.length);
    const images = [...lead, ...references];
    if (images.length === 0) throw new JobFailure('internal_error', 'An OpenAI edit needs at least one input image.', false);
    if (images.length > OPENAI_MAX_INPUT_IMAGES) {
      throw new JobFailure('upstream_error', `OpenAI accepts at most ${OPENAI_MAX_INPUT_IMAGES} input images; this request has ${images.length}.`, false);
    }
    const files = await Promise.all(images.map((img) => toVendorInput(img)));
    const field = files.length === 1 ? 'image' : 'image[]';
    const fields: MultipartField[] = [
      { name: 'model', value: this.model },
      { name: 'prompt', value: text },
      { name: 'n', value: '1' },
      { name: 'size', value: openaiSize(this.model, input.width, input.height) },
      ...(this.options.quality ? [{ name: 'quality', value: this.options.quality }] : []),
      ...(this.partialImages > 0 ? [{ name: 'stream', value: 'true' }, { name: 'partial_images', value: String(this.partialImages) }] : []),
      ...files.map((f, i) => ({ name: field, file: f.bytes, filename: `image-${i + 1}.${f.ext}`, contentType: f.mime })),
    ];
    const { body, contentType } = await multipartBody(fields);
    return this.run(input, { method: 'POST', url: '/v1/images/edits', body, headers: { 'content-type': contentType } });
  }

  private run(input: GenerateInput, call: VendorCall): Promise<ProviderOutput> {
    const key = this.cfg.apiKey;
    const signal = input.signal;
    if (!key) return Promise.reject(notConfigured(this.cfg.vendor, this.cfg.apiKeyVar));
    const report = progressReporter(input.onProgress, signal);
    return this.limiter.run(async () => {
      try {
        const authed: VendorCall = { ...call, signal, headers: { ...call.headers, authorization: `Bearer ${key}` } };
        // One call, nothing to wait for in a queue: it is sampling from the moment it goes out.
        report({ stage: 'sampling' });
        const out = this.partialImages > 0 ? await this.streamed(authed, report) : await this.imageFrom(await this.fetch(authed), signal);
        return { ...out, params: { vendor_model: this.model } };
      } catch (e) {
        throw redactSecret(this.mapError(e), key);
      }
    });
  }

  /** The streaming answer; a server that answers plain JSON anyway (a proxy) is read as before. */
  private async streamed(call: VendorCall, report: ProgressSink): Promise<ProviderOutput> {
    const signal = call.signal!;
    const res = await vendorStream(this.cfg, this.breaker, call, { retryBaseMs: this.options.retryBaseMs });
    try {
      if (!/^text\/event-stream/i.test(res.headers['content-type'] ?? '')) {
        const buf = Buffer.from(await res.body.text(), 'utf8');
        return await this.imageFrom({ status: res.status, headers: res.headers, body: buf }, signal);
      }
      return await readImageStream(this.cfg.vendor, res.body, this.partialImages, report);
    } catch (e) {
      if (e instanceof JobFailure) throw e;
      // The body broke off: our abort, the whole-call timeout, or the connection dropped.
      if (signal.aborted) throw new JobFailure('timeout', `${this.cfg.vendor} call aborted.`, true);
      const name = (e as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') throw new JobFailure('timeout', `${this.cfg.vendor} did not finish the image within ${this.cfg.timeoutMs} ms.`, true);
      if (/larger than/.test((e as Error).message)) throw malformed(this.cfg.vendor, 'an image stream event too large to read');
      throw new JobFailure('upstream_error', `${this.cfg.vendor} broke off the image stream.`, true);
    } finally {
      // Whatever ended the read, the connection must not stay open behind us.
      const b = res.body as unknown as { destroy?: () => void; destroyed?: boolean };
      if (!b.destroyed) b.destroy?.();
    }
  }

  private fetch(call: VendorCall): Promise<VendorResponse> {
    return vendorFetch(this.cfg, this.breaker, call, { retryBaseMs: this.options.retryBaseMs });
  }

  private async imageFrom(res: VendorResponse, signal: AbortSignal): Promise<ProviderOutput> {
    const vendor = this.cfg.vendor;
    const json = parseJson<ImagesResponse | null>(vendor, res);
    const first = json && typeof json === 'object' && Array.isArray(json.data) ? json.data[0] : undefined;
    if (first && typeof first === 'object') {
      if (first.b64_json !== undefined && first.b64_json !== null) return decodeBase64Image(vendor, first.b64_json);
      if (typeof first.url === 'string') return this.download(first.url, signal);
    }
    throw malformed(vendor, 'no image in the response');
  }

  /** A result URL on the vendor's CDN: fetched without our key, https only (or the configured base URL's own origin). */
  private async download(url: string, signal: AbortSignal): Promise<ProviderOutput> {
    const vendor = this.cfg.vendor;
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw malformed(vendor, 'an image URL that does not parse');
    }
    const sameOrigin = u.origin === new URL(this.cfg.baseUrl).origin;
    if (u.protocol !== 'https:' && !sameOrigin) throw malformed(vendor, 'an image URL that is not https');
    const res = await this.fetch({ method: 'GET', url: u.toString(), signal });
    return validateVendorImage(vendor, res.body);
  }

  private mapError(e: unknown): unknown {
    const vb = vendorErrorBody(e);
    if (vb && vb.status === 400) {
      const err = (vb.json as OpenAIErrorBody | null)?.error;
      const code = typeof err?.code === 'string' ? err.code : undefined;
      if (code && OPENAI_SAFETY_CODES.has(code)) return safetyBlocked(this.cfg.vendor, 'input', code);
    }
    return e;
  }
}
