/**
 * AUTOMATIC1111 stable-diffusion-webui adapter (its FastAPI API, enabled with `--api`).
 *
 * Wire format (modules/api/api.py, modules/api/models.py):
 *   POST /sdapi/v1/txt2img  JSON {prompt, negative_prompt, seed, width, height, steps, cfg_scale,
 *                           batch_size, n_iter, sampler_name?, override_settings?: {sd_model_checkpoint}}
 *   POST /sdapi/v1/img2img  the same plus init_images: [base64], denoising_strength
 *   → 200 {images: [base64 PNG, …], parameters: {…}, info: "<JSON string>"}
 *   → 422 {detail: [{loc: ["body", field], msg, type}]} when FastAPI/pydantic validation fails
 *   → 401 {detail: "Incorrect username or password"} with `--api-auth user:pass` and wrong credentials
 *   → 500 {error, detail, body, errors} when generation raised (out of memory, …)
 * The call is synchronous: the answer arrives when the image is done.
 *
 * Auth: EASEL_A1111_API_KEY, when set, is `user:pass` (what `--api-auth` was given) and is sent as
 * HTTP basic auth. It never appears in an error message: every failure is rebuilt with the
 * username, password and encoded token scrubbed.
 *
 * The checkpoint is `vendorModel` via override_settings.sd_model_checkpoint, kept loaded afterwards
 * (override_settings_restore_afterwards: false, so pools can route by what each server has loaded); an empty vendorModel uses whatever checkpoint the server has loaded.
 * Reference images and history are not used; figures are added to the prompt as text. Deadline
 * (vendor/deadline.ts): once a concurrency slot is free, the call and vendorFetch's retries must
 * finish within cfg.timeoutMs, else a retryable `timeout`.
 *
 * Live progress (issue 22), when the caller passes onProgress: GET /sdapi/v1/progress is polled
 * while the request is in flight (progress-poll.ts), outside the deadline's retries and the
 * breaker (a failing progress route must not fail or pause generations). Reported params: what
 * the answer's `info` says, else what was sent (params.ts).
 */
import { JobFailure } from '../../errors.js';
import type { EditInput, GenerateInput, ImageProvider, ProgressSink, ProviderCapabilities, ProviderOutput } from '../port.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed } from '../vendor/failure.js';
import { parseJson, vendorFetch } from '../vendor/http.js';
import { Limiter } from '../vendor/limiter.js';
import { callJson } from '../vendor/call-json.js';
import { Deadline } from '../vendor/deadline.js';
import { checkBase64Image } from './image.js';
import { inputAsPng } from '../vendor/image-bytes.js';
import { reportedParams } from './params.js';
import { A1111_PROGRESS_PATH, withProgressPolling } from './progress-poll.js';

export const A1111_VENDOR = 'AUTOMATIC1111';
export const A1111_DEFAULT_BASE_URL = 'http://127.0.0.1:7860';
export const A1111_DEFAULT_TIMEOUT_MS = 300_000;
export const A1111_EDIT_DENOISE = 0.6;
export const A1111_ADAPTER_VERSION = 'a1111/2';
/** Between /sdapi/v1/progress polls while a request is in flight. */
export const A1111_PROGRESS_INTERVAL_MS = 400;

/**
 * `EASEL_A1111_API_KEY` (optional, `user:pass` for `--api-auth`), `_BASE_URL` (default
 * http://127.0.0.1:7860), `_TIMEOUT_MS` (default 300000), `_MAX_CONCURRENCY` (default 1: the webui
 * renders one request at a time), `_MAX_RETRIES`.
 */
export function a1111Config(): VendorConfig {
  return { ...vendorConfig('A1111', { baseUrl: A1111_DEFAULT_BASE_URL, timeoutMs: A1111_DEFAULT_TIMEOUT_MS, maxConcurrency: 1 }), vendor: A1111_VENDOR };
}

export interface A1111Options {
  /** Defaults: one breaker and one limiter per server (base URL), shared by every model on it. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  steps?: number;
  cfgScale?: number;
  /** e.g. "Euler a", "DPM++ 2M"; omitted (the server's default) when unset. */
  samplerName?: string;
  negativePrompt?: string;
  /** img2img denoising_strength (default 0.6). */
  denoisingStrength?: number;
  /** Between /sdapi/v1/progress polls while a request is in flight (default 400 ms). */
  progressIntervalMs?: number;
}

const shared = new Map<string, { breaker: CircuitBreaker; limiter: Limiter }>();

export class A1111Provider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly breaker: CircuitBreaker;
  readonly adapterVersion = A1111_ADAPTER_VERSION;
  private readonly limiter: Limiter;
  /** The progress polls' own breaker: a webui whose progress route keeps failing is left alone for a while, generations unaffected. */
  private readonly progressBreaker: CircuitBreaker;
  private readonly authorization: string | null;
  private readonly secrets: string[];

  /**
   * @param id the catalogue model id
   * @param vendorModel the checkpoint title or name for override_settings.sd_model_checkpoint
   *   (e.g. `sd_xl_base_1.0.safetensors`); empty → the server's loaded checkpoint
   * @throws Error when EASEL_A1111_API_KEY is set but not `user:pass` (the value is not echoed)
   */
  constructor(
    readonly id: string,
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = a1111Config(),
    private readonly options: A1111Options = {},
  ) {
    if (cfg.apiKey) {
      const colon = cfg.apiKey.indexOf(':');
      if (colon <= 0) throw new Error(`${cfg.apiKeyVar} must have the form user:pass (the credentials given to the webui's --api-auth).`);
      const user = cfg.apiKey.slice(0, colon);
      const pass = cfg.apiKey.slice(colon + 1);
      const token = Buffer.from(cfg.apiKey, 'utf8').toString('base64');
      this.authorization = `Basic ${token}`;
      // Longest first, so a password containing the username is scrubbed whole.
      this.secrets = [cfg.apiKey, token, pass, user.length >= 3 ? user : ''].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
    } else {
      this.authorization = null;
      this.secrets = [];
    }
    let perServer = shared.get(cfg.baseUrl);
    if (!perServer) shared.set(cfg.baseUrl, (perServer = { breaker: new CircuitBreaker(cfg.vendor), limiter: new Limiter(cfg.maxConcurrency) }));
    this.breaker = options.breaker ?? perServer.breaker;
    this.limiter = options.limiter ?? perServer.limiter;
    this.progressBreaker = new CircuitBreaker(cfg.vendor);
    // Seeded local backend: the same request and seed give the same pixels (issue 22, result cache).
    this.capabilities = { operations: ['generate', 'edit'], multiturn: false, maxConcurrency: cfg.maxConcurrency, deterministic: true };
  }

  generate(input: GenerateInput): Promise<ProviderOutput> {
    return this.guard(() => this.limiter.run(() => this.render('/sdapi/v1/txt2img', this.baseBody(input), input.signal, input.onProgress)));
  }

  edit(input: EditInput): Promise<ProviderOutput> {
    return this.guard(() =>
      this.limiter.run(async () => {
        const png = await inputAsPng(input.image.bytes);
        const body = {
          ...this.baseBody(input),
          init_images: [png.toString('base64')],
          denoising_strength: this.options.denoisingStrength ?? A1111_EDIT_DENOISE,
        };
        return this.render('/sdapi/v1/img2img', body, input.signal, input.onProgress);
      }),
    );
  }

  private baseBody(input: GenerateInput): Record<string, unknown> {
    return {
      prompt: sdPrompt(input),
      negative_prompt: this.options.negativePrompt ?? '',
      seed: uint32(input.seed),
      width: input.width,
      height: input.height,
      steps: this.options.steps ?? 20,
      cfg_scale: this.options.cfgScale ?? 7,
      batch_size: 1,
      n_iter: 1,
      ...(this.options.samplerName ? { sampler_name: this.options.samplerName } : {}),
      // The checkpoint stays loaded after the request (the webui would otherwise switch back): a pool
      // routes the next call of this model to the backend that has it (src/fleet/routing.ts).
      ...(this.vendorModel ? { override_settings: { sd_model_checkpoint: this.vendorModel }, override_settings_restore_afterwards: false } : {}),
    };
  }

  private async render(path: string, body: Record<string, unknown>, jobSignal: AbortSignal, onProgress: ProgressSink | undefined): Promise<ProviderOutput> {
    if (jobSignal.aborted) throw aborted();
    // One deadline for the call and its retries (a Retry-After sleep included), tied to the job's signal.
    const deadline = new Deadline(A1111_VENDOR, this.cfg.timeoutMs, jobSignal);
    try {
      const call = () =>
        callJson<Record<string, unknown>>(
          this.cfg,
          this.breaker,
          deadline,
          { method: 'POST', url: path, json: body, headers: this.authHeaders() },
          this.options.retryBaseMs,
        );
      let out: Record<string, unknown>;
      try {
        ({ json: out } = await (onProgress ? withProgressPolling((signal) => this.pollProgress(signal), this.options.progressIntervalMs ?? A1111_PROGRESS_INTERVAL_MS, onProgress, call) : call()));
      } catch (e) {
        throw definiteRejection(e) ?? e;
      }
      if (!Array.isArray(out.images)) throw malformed(A1111_VENDOR, `a ${path} answer without an images list`);
      if (out.images.length === 0) throw malformed(A1111_VENDOR, `a ${path} answer with no image`);
      // Extensions (ControlNet…) may append extra images (detect maps); the first is the result.
      const { bytes, mime } = await checkBase64Image(A1111_VENDOR, out.images[0]);
      return { bytes, mime, params: reportedParams(out.info, body, this.vendorModel) };
    } finally {
      deadline.dispose();
    }
  }

  /** One progress poll: no retries (the next poll is the retry), a short timeout, its own breaker. */
  private async pollProgress(signal: AbortSignal): Promise<unknown> {
    const quick = { ...this.cfg, maxRetries: 0, timeoutMs: Math.min(this.cfg.timeoutMs, 5000) };
    return parseJson<unknown>(A1111_VENDOR, await vendorFetch(quick, this.progressBreaker, { method: 'GET', url: A1111_PROGRESS_PATH, headers: this.authHeaders(), signal }));
  }

  private authHeaders(): Record<string, string> {
    return this.authorization ? { authorization: this.authorization } : {};
  }

  /** Every failure leaves as a fresh JobFailure: no vendor body attached, the credentials scrubbed. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw scrubFailure(e, this.secrets);
    }
  }
}

/** 422 (FastAPI validation) and 404 (no API here) → non-retryable failures that tell the operator why. */
function definiteRejection(e: unknown): JobFailure | null {
  const err = e as { vendorStatus?: unknown; vendorBody?: unknown };
  if (!(e instanceof JobFailure) || typeof err.vendorStatus !== 'number') return null;
  let json: unknown = null;
  try {
    json = JSON.parse(typeof err.vendorBody === 'string' ? err.vendorBody : '');
  } catch {
    // keep null
  }
  const detail = isObject(json) ? json.detail : undefined;
  if (err.vendorStatus === 404) {
    const what = typeof detail === 'string' && detail !== 'Not Found' ? `: ${truncate(detail, 200)}` : '';
    return new JobFailure('upstream_error', `${A1111_VENDOR} has no such API endpoint (404${what}); the operator must start the webui with --api and check EASEL_A1111_BASE_URL.`, false);
  }
  if (err.vendorStatus !== 422) return null;
  const fields: { loc: string; msg: string }[] = [];
  if (Array.isArray(detail)) {
    for (const d of detail) {
      if (!isObject(d)) continue;
      const loc = Array.isArray(d.loc) ? d.loc.map(String).join('.') : '';
      fields.push({ loc, msg: typeof d.msg === 'string' ? d.msg : 'invalid' });
    }
  }
  const why = fields.length > 0 ? fields.slice(0, 5).map((f) => `${f.loc}: ${f.msg}`).join('; ') : typeof detail === 'string' ? detail : 'no reason given';
  return new JobFailure(
    'upstream_error',
    `${A1111_VENDOR} rejected the request (422): ${truncate(why, 500)}. The operator should check the webui version and the model's settings.`,
    false,
    undefined,
    { vendor_status: 422, fields: fields.slice(0, 5).map((f) => f.loc) },
  );
}

/** SD checkpoints read a short comma-separated description: the prompt, then each figure's appearance. */
function sdPrompt(input: GenerateInput): string {
  const parts = [input.prompt.trim()];
  for (const f of input.figures ?? []) if (f.appearance.trim()) parts.push(f.appearance.trim());
  if (input.portrait) parts.push('single character, plain background');
  return parts.filter(Boolean).join(', ');
}

/** A1111 treats -1 as "random"; Easel's seeds are non-negative, kept within 32 bits. */
function uint32(seed: number): number {
  const n = Math.trunc(seed) % 2 ** 32;
  return n < 0 ? n + 2 ** 32 : n;
}

/** A fresh JobFailure (without the vendorBody vendorFetch attaches) with every secret scrubbed. */
export function scrubFailure(e: unknown, secrets: string[]): unknown {
  if (!(e instanceof JobFailure)) return e;
  const scrub = (s: string) => secrets.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? scrub(v) : Array.isArray(v) ? v.map(deep) : isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v;
  return new JobFailure(e.code, scrub(e.message), e.retryable, e.retryAfterMs, e.details ? (deep(e.details) as Record<string, unknown>) : undefined);
}

function aborted(): JobFailure {
  return new JobFailure('timeout', `${A1111_VENDOR} generation aborted.`, true);
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
