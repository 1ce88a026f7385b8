/**
 * What the asynchronous vendors (fal.ai queue, Replicate predictions, BFL) share on top of the
 * vendor HTTP policy in ./vendor: one overall deadline per generation, a submit-then-poll loop
 * with a jittered, growing interval, the check that a vendor-given URL may receive our key, and
 * the download of the finished image from the vendor's CDN — decoded before anyone sees it,
 * because Easel re-stores results and never hands a vendor URL to a client. Plus the small
 * request-building helpers the three adapters share (input images, aspect ratios, dimensions,
 * reference images, the `vendor_model` route syntax).
 */
import net from 'node:net';
import { JobFailure } from '../errors.js';
import { guardedRequest, UrlRefused } from '../net/guarded-fetch.js';
import { backoffMs } from '../worker/backoff.js';
import type { GenerateInput, InputImage, ProviderOutput } from './port.js';
import type { CircuitBreaker } from './vendor/circuit-breaker.js';
import type { VendorConfig } from './vendor/config.js';
import { malformed, notConfigured } from './vendor/failure.js';
import { parseJson, vendorFetch, type VendorCall } from './vendor/http.js';
import { toVendorInput, validateVendorImage } from './vendor/image-bytes.js';
import type { Limiter } from './vendor/limiter.js';
import { aspectDistance, composePrompt } from './vendor/prompt.js';
import { redactSecret } from './vendor/redact.js';

// ---------------------------------------------------------------------------------------------
// Deadline
// ---------------------------------------------------------------------------------------------

/**
 * The whole budget of one generation (submit, every poll, the download). Its `signal` aborts when
 * the time is up or when the caller's signal aborts (job canceled, worker shutting down); its
 * `reason` then says which, as a JobFailure a job can end with.
 */
export class Deadline {
  readonly at: number;
  private readonly ctrl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.ctrl.abort(new JobFailure('timeout', `The ${this.vendor} request was aborted.`, true));

  constructor(
    readonly vendor: string,
    readonly timeoutMs: number,
    private readonly caller?: AbortSignal,
  ) {
    this.at = Date.now() + timeoutMs;
    this.timer = setTimeout(
      () => this.ctrl.abort(new JobFailure('timeout', `${vendor} did not deliver the image within ${timeoutMs >= 10_000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}.`, true)),
      timeoutMs,
    );
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Throws the deadline's failure once it has fired. */
  check(): void {
    if (this.ctrl.signal.aborted) throw this.failure();
  }

  failure(): JobFailure {
    const r: unknown = this.ctrl.signal.reason;
    return r instanceof JobFailure ? r : new JobFailure('timeout', `${this.vendor} did not deliver the image in time.`, true);
  }

  /**
   * Settles with `p`, or rejects with the deadline's failure the moment it fires — even when `p`
   * is stuck in a retry sleep that does not watch the signal.
   */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.ctrl.signal.aborted) {
      p.catch(() => {});
      return Promise.reject(this.failure());
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.failure());
      this.ctrl.signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          this.ctrl.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          this.ctrl.signal.removeEventListener('abort', onAbort);
          // Whatever a call reports after the deadline fired ("call aborted"), the deadline is the cause.
          reject(this.ctrl.signal.aborted ? this.failure() : e);
        },
      );
    });
  }

  /** Sleeps `ms`, cut short (with the deadline's failure) when the deadline fires first. */
  sleep(ms: number): Promise<void> {
    return this.race(new Promise<void>((r) => setTimeout(r, Math.min(ms, this.remainingMs()))));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}

// ---------------------------------------------------------------------------------------------
// Poll loop
// ---------------------------------------------------------------------------------------------

export interface PollSchedule {
  /** First wait between polls. */
  initialMs: number;
  /** The wait grows by `factor` per poll up to this. */
  maxMs: number;
  factor: number;
  /** ± this fraction of random jitter, so many jobs started together do not poll in lockstep. */
  jitter: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = { initialMs: 500, maxMs: 4000, factor: 1.5, jitter: 0.25 };

export function pollDelayMs(attempt: number, s: PollSchedule, random: () => number = Math.random): number {
  const base = Math.min(s.maxMs, s.initialMs * s.factor ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * (1 + s.jitter * (2 * random() - 1))));
}

/**
 * Calls `check` until it returns something other than `undefined`, sleeping a jittered, growing
 * interval in between, all inside `deadline`: when it fires the loop ends with the deadline's
 * failure (a retryable `timeout`, or the caller's abort). Errors thrown by `check` end the loop.
 */
export async function pollUntil<T>(deadline: Deadline, schedule: PollSchedule, check: (attempt: number) => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    deadline.check();
    const v = await deadline.race(check(attempt));
    if (v !== undefined) return v;
    await deadline.sleep(pollDelayMs(attempt, schedule));
  }
}

// ---------------------------------------------------------------------------------------------
// One generation: configuration check, concurrency slot, deadline, key scrubbing
// ---------------------------------------------------------------------------------------------

/**
 * Runs one generation against a vendor: refuses at once when the key is missing, waits for a
 * concurrency slot (time in that queue does not count against the vendor), then gives `fn` a
 * fresh deadline of cfg.timeoutMs tied to the caller's signal. Any error leaving here has had
 * the key scrubbed from it.
 */
export async function runGeneration<T>(
  cfg: VendorConfig,
  limiter: Limiter,
  signal: AbortSignal,
  fn: (deadline: Deadline, apiKey: string) => Promise<T>,
): Promise<T> {
  const key = cfg.apiKey;
  if (!key) throw notConfigured(cfg.vendor, cfg.apiKeyVar);
  if (signal.aborted) throw new JobFailure('timeout', `The ${cfg.vendor} request was aborted.`, true);
  return limiter.run(async () => {
    const deadline = new Deadline(cfg.vendor, cfg.timeoutMs, signal);
    try {
      return await fn(deadline, key);
    } catch (e) {
      throw redactSecret(e, key);
    } finally {
      deadline.dispose();
    }
  });
}

/** vendorFetch (retries, Retry-After, breaker) inside the deadline, answer parsed as a JSON object. */
export async function callJson<T extends object>(
  cfg: VendorConfig,
  breaker: CircuitBreaker,
  deadline: Deadline,
  call: Omit<VendorCall, 'signal'>,
  retryBaseMs?: number,
): Promise<{ status: number; headers: Record<string, string>; json: T }> {
  const res = await deadline.race(vendorFetch(cfg, breaker, { ...call, signal: deadline.signal }, { retryBaseMs }));
  const json = parseJson<T>(cfg.vendor, res);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw malformed(cfg.vendor, 'a JSON answer that is not an object');
  return { status: res.status, headers: res.headers, json };
}

/**
 * Whether a URL the vendor handed us (status, polling, cancel URLs) may receive our key: same
 * scheme and host as the configured base URL, or a sibling host under the base's parent domain
 * (BFL answers with regional polling hosts such as api.eu1.bfl.ai for base api.bfl.ai).
 */
export function vendorOwnsUrl(baseUrl: string, url: unknown): url is string {
  if (typeof url !== 'string') return false;
  let b: URL;
  let u: URL;
  try {
    b = new URL(baseUrl);
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== b.protocol || u.username !== '' || u.password !== '') return false;
  if (u.host === b.host) return true;
  const labels = b.hostname.split('.');
  if (net.isIP(b.hostname) !== 0 || labels.length < 3 || u.port !== b.port) return false;
  return u.hostname.endsWith(`.${labels.slice(-2).join('.')}`);
}

// ---------------------------------------------------------------------------------------------
// Result download
// ---------------------------------------------------------------------------------------------

export interface ResultFetchOptions {
  deadline: Deadline;
  /** Refuse results larger than this. */
  maxBytes: number;
  /** Download attempts after the first for 5xx/429/connection failures. */
  maxRetries: number;
  retryBaseMs?: number;
  /**
   * Allow http:// and loopback result URLs — for a vendor base URL on loopback (a local fake or
   * proxy) only. Otherwise results must be https on public addresses (SSRF guard).
   */
  allowLoopbackHttp: boolean;
}

/**
 * Downloads a finished image from the URL a vendor gave us (or decodes a data: URI) and proves
 * it is an image by decoding every pixel (validateVendorImage: PNG, JPEG or WebP). Goes through
 * the SSRF guard (public addresses, https, pinned DNS, bounded redirects and size) and never
 * sends our vendor credentials: CDN URLs are public or pre-signed. Error messages never contain
 * the URL — signed URLs are secrets too.
 */
export async function fetchResultImage(vendor: string, url: string, opts: ResultFetchOptions): Promise<ProviderOutput> {
  if (typeof url !== 'string' || url === '') throw malformed(vendor, 'a result without an image URL');
  if (url.startsWith('data:')) return validateVendorImage(vendor, decodeDataUri(vendor, url));
  let last: JobFailure | null = null;
  for (let attempt = 1; attempt <= opts.maxRetries + 1; attempt++) {
    opts.deadline.check();
    try {
      const res = await opts.deadline.race(
        guardedRequest(url, { method: 'GET', headers: { accept: 'image/*' } }, {
          timeoutMs: Math.max(1, opts.deadline.remainingMs()),
          maxRedirects: 3,
          allowLoopbackHttp: opts.allowLoopbackHttp,
          signal: opts.deadline.signal,
          maxBytes: opts.maxBytes,
        }),
      );
      if (res.status >= 200 && res.status < 300) return await validateVendorImage(vendor, res.body);
      if (res.status === 429 || res.status >= 500) {
        last = new JobFailure('upstream_error', `${vendor}'s file server failed (${res.status}) while we downloaded the result.`, true);
      } else {
        // 403/404/410: the (often short-lived, signed) result URL is gone or refuses us.
        throw new JobFailure('upstream_error', `${vendor}'s result image could not be downloaded (${res.status}); the link may have expired.`, false);
      }
    } catch (e) {
      if (e instanceof JobFailure && (!e.retryable || opts.deadline.signal.aborted)) throw e;
      if (e instanceof UrlRefused) {
        if (e.reason === 'fetch_failed' || e.reason === 'dns_failed') {
          last = new JobFailure('upstream_error', `${vendor}'s file server could not be reached.`, true);
        } else if (e.reason === 'timeout') {
          throw opts.deadline.signal.aborted ? opts.deadline.failure() : new JobFailure('timeout', `${vendor}'s file server did not answer in time.`, true);
        } else if (e.reason === 'too_large') {
          throw malformed(vendor, `a result image larger than ${opts.maxBytes} bytes`);
        } else {
          throw malformed(vendor, `a result URL we do not fetch (${e.reason})`);
        }
      } else if (e instanceof JobFailure) {
        last = e;
      } else {
        throw e;
      }
    }
    if (attempt <= opts.maxRetries) await opts.deadline.sleep(backoffMs(attempt, undefined, opts.retryBaseMs ?? 250, 5000));
  }
  throw last ?? new JobFailure('upstream_error', `${vendor}'s result could not be downloaded.`, true);
}

function decodeDataUri(vendor: string, uri: string): Buffer {
  const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(uri);
  if (!m || !m[2]) throw malformed(vendor, 'a data: result that is not base64');
  return Buffer.from(m[3] ?? '', 'base64');
}

// ---------------------------------------------------------------------------------------------
// Small request-building helpers shared by the adapters
// ---------------------------------------------------------------------------------------------

/** An input image as a data URI (PNG/JPEG/WebP as they are, other formats re-encoded to PNG). */
export async function dataUri(img: InputImage): Promise<string> {
  const v = await toVendorInput(img);
  return `data:${v.mime};base64,${v.bytes.toString('base64')}`;
}

/** An input image as bare base64 (BFL), normalised like dataUri. */
export async function base64Image(img: InputImage): Promise<string> {
  return (await toVendorInput(img)).bytes.toString('base64');
}

/** The ratio from `choices` ("W:H") closest to width/height, compared on a log scale. */
export function nearestAspectRatio(width: number, height: number, choices: readonly string[]): string {
  let best = choices[0] ?? '1:1';
  let bestDist = Infinity;
  for (const c of choices) {
    const [w, h] = c.split(':').map(Number);
    if (!w || !h) continue;
    const d = aspectDistance(width, height, w, h);
    if (d < bestDist) {
      bestDist = d;
      best = c;
    }
  }
  return best;
}

/**
 * The prompt text and the images one request sends: `lead` (the image to edit, the images to
 * combine) followed by the reference images (input.references, then each figure's reference),
 * numbered in the text by composePrompt. When the model cannot take that many images the
 * references are left out and the figures are described in words only.
 */
export function requestImages(input: GenerateInput, lead: InputImage[], maxImages: number): { text: string; images: InputImage[] } {
  const full = composePrompt(input, lead.length);
  if (full.references.length === 0 || lead.length + full.references.length <= maxImages) return { text: full.text, images: [...lead, ...full.references] };
  const words = composePrompt({ ...input, references: [], figures: input.figures?.map((f) => ({ key: f.key, appearance: f.appearance })) }, lead.length);
  return { text: words.text, images: lead };
}

/** Whether a generate request carries reference images (its own or its figures'). */
export function hasReferences(input: GenerateInput): boolean {
  return input.references.length > 0 || (input.figures ?? []).some((f) => f.reference !== undefined);
}

/** A parsed `vendor_model` string: the main model and optional edit / combine routes. */
export interface VendorModelSpec {
  model: string;
  edit?: { model: string; field?: string };
  combine?: { model: string; field?: string };
}

/**
 * The `vendor_model` string of a catalogue entry for the async vendors: the main model, then
 * optional `edit=<model>[#field]` and `combine=<model>[#field]` routes, whitespace-separated —
 * e.g. "fal-ai/flux-pro/v1.1 edit=fal-ai/flux-pro/kontext combine=fal-ai/flux-pro/kontext/max/multi".
 * Throws (at start-up, from the constructor) on anything else.
 */
export function parseVendorModel(spec: string): VendorModelSpec {
  const parts = spec.trim().split(/\s+/);
  const model = parts.shift();
  if (!model || model.includes('=')) throw new Error(`vendor model "${spec}": the first word must be the model`);
  const out: VendorModelSpec = { model };
  for (const p of parts) {
    const m = /^(edit|combine)=([^#\s]+)(?:#(\S+))?$/.exec(p);
    if (!m) throw new Error(`vendor model "${spec}": "${p}" is not edit=<model>[#field] or combine=<model>[#field]`);
    out[m[1] as 'edit' | 'combine'] = { model: m[2]!, ...(m[3] ? { field: m[3] } : {}) };
  }
  return out;
}

/**
 * width × height scaled (keeping the ratio) into [minSide, maxSide] and rounded to `step`, for
 * vendors that take explicit dimensions with such limits.
 */
export function fitDimensions(width: number, height: number, limits: { step: number; minSide: number; maxSide: number }): { width: number; height: number } {
  let scale = 1;
  if (Math.max(width, height) * scale > limits.maxSide) scale = limits.maxSide / Math.max(width, height);
  if (Math.min(width, height) * scale < limits.minSide) scale = limits.minSide / Math.min(width, height);
  const snap = (v: number) => Math.min(limits.maxSide, Math.max(limits.minSide, Math.round((v * scale) / limits.step) * limits.step));
  return { width: snap(width), height: snap(height) };
}

/** http(s) base URL on a loopback host: results may then come from loopback over http too. */
export function isLoopbackBase(baseUrl: string): boolean {
  try {
    const u = new URL(baseUrl);
    return ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(u.hostname) || /^127\./.test(u.hostname);
  } catch {
    return false;
  }
}
