/**
 * Google Gemini image-generation adapter (the story model: multi-turn).
 *
 * Endpoint and fields used (Gemini API reference, "models.generateContent", v1beta):
 *   POST /v1beta/models/{model}:generateContent, header `x-goog-api-key` (the key never goes in the URL).
 *   Body: {contents: [{role: 'user'|'model', parts: [{text} | {inlineData: {mimeType, data}}]}],
 *          generationConfig: {responseModalities: ['TEXT', 'IMAGE'], imageConfig: {aspectRatio[, imageSize]}}}
 *   Multi-turn: each earlier turn of `input.history` becomes a user content (its prompt) followed by a
 *   model content (its image as inlineData); the current user content carries the prompt, then the
 *   image to edit / the images to combine, then the reference images (`input.references`, then
 *   `input.figures[].reference`), numbered in the text.
 *   Response: `candidates[0].content.parts[]`, the first `inlineData` part that is not a thought
 *   (`thought: true` parts are interim drafts; text parts are ignored). `promptFeedback.blockReason` → content_rejected (input);
 *   `candidates[0].finishReason` SAFETY / IMAGE_SAFETY / PROHIBITED_CONTENT / IMAGE_PROHIBITED_CONTENT /
 *   BLOCKLIST / SPII / RECITATION / IMAGE_RECITATION → content_rejected (output); no image otherwise
 *   (e.g. NO_IMAGE, IMAGE_OTHER, text only) → upstream_error.
 *   Errors `{error: {code, message, status, details}}`: 400 with reason API_KEY_INVALID (what Gemini
 *   answers for a bad key) and 401/403 → provider_unavailable; 429/5xx/timeouts → retried.
 *
 * Limits:
 *   - aspectRatio is the nearest of 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9; the image comes
 *     back at the model's pixel size for that ratio, not at the exact width/height. `imageSize`
 *     (1K/2K/4K) is only sent when `options.imageSize` is set (Gemini 3 Pro Image; 2.5 Flash Image
 *     does not take it).
 *   - No seed is sent: `input.seed` is ignored.
 *   - History is trimmed oldest-first to `maxHistoryTurns` (default 6) turns and to keep the inline
 *     image data under `maxInlineBytes` (default 15 MB of base64; Gemini caps a request at 20 MB).
 *   - Thought signatures of earlier model turns are not replayed (the port's history carries only
 *     prompt and image). Gemini 3 Pro Image does not require them; context may be slightly weaker.
 *   - Gemini takes few input images well (2.5 Flash Image: about 3; 3 Pro Image: up to 14).
 *
 * Progress (issue 22): one call that says nothing until it is done — the stage `sampling` is
 * reported once, when the request goes out. Params: the model asked for, and `modelVersion` from
 * the answer when it names something else.
 */
import type { CombineInput, EditInput, GenerateInput, ImageProvider, InputImage, ProviderCapabilities, ProviderOutput, ProviderParams } from '../port.js';
import { progressReporter } from '../vendor/progress.js';
import { JobFailure } from '../../errors.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed, notConfigured, safetyBlocked } from '../vendor/failure.js';
import { parseJson, vendorFetch } from '../vendor/http.js';
import { decodeBase64Image, toVendorInput } from '../vendor/image-bytes.js';
import { Limiter } from '../vendor/limiter.js';
import { aspectDistance, composePrompt } from '../vendor/prompt.js';
import { redactSecret, vendorErrorBody } from '../vendor/redact.js';

export const GEMINI_VENDOR = 'Gemini';
export const GEMINI_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';

/** `EASEL_GEMINI_API_KEY`, `_BASE_URL` (default https://generativelanguage.googleapis.com), `_TIMEOUT_MS`, `_MAX_CONCURRENCY`, `_MAX_RETRIES`. */
export function geminiConfig(): VendorConfig {
  return vendorConfig(GEMINI_VENDOR, { baseUrl: GEMINI_DEFAULT_BASE_URL });
}

export interface GeminiOptions {
  /** Share one breaker / limiter between several models of the same Gemini project. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** Send imageConfig.imageSize (1K/2K/4K from the larger side) — for models that take it. */
  imageSize?: boolean;
  /** Most earlier turns sent along (oldest dropped first). Default 6. */
  maxHistoryTurns?: number;
  /** Budget for all inline image data in one request, in base64 characters. Default 15 MB. */
  maxInlineBytes?: number;
}

export const GEMINI_ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;

export function geminiAspectRatio(width: number, height: number): string {
  let best: string = GEMINI_ASPECT_RATIOS[0];
  let bestD = Infinity;
  for (const r of GEMINI_ASPECT_RATIOS) {
    const [w, h] = r.split(':').map(Number) as [number, number];
    const d = aspectDistance(width, height, w, h);
    if (d < bestD) [best, bestD] = [r, d];
  }
  return best;
}

export function geminiImageSize(width: number, height: number): '1K' | '2K' | '4K' {
  const side = Math.max(width, height);
  return side <= 1024 ? '1K' : side <= 2048 ? '2K' : '4K';
}

type Part = { text: string } | { inlineData: { mimeType: string; data: string } };
interface Content {
  role: 'user' | 'model';
  parts: Part[];
}

interface ResponsePart {
  text?: unknown;
  thought?: unknown;
  inlineData?: { mimeType?: unknown; data?: unknown };
  inline_data?: { mime_type?: unknown; data?: unknown };
}
interface GenerateContentResponse {
  modelVersion?: unknown;
  promptFeedback?: { blockReason?: unknown };
  candidates?: { content?: { parts?: ResponsePart[] }; finishReason?: unknown }[];
}

const OUTPUT_BLOCKED = new Set([
  'SAFETY',
  'IMAGE_SAFETY',
  'PROHIBITED_CONTENT',
  'IMAGE_PROHIBITED_CONTENT',
  'BLOCKLIST',
  'SPII',
  'RECITATION',
  'IMAGE_RECITATION',
]);
/** 400/403 reasons and statuses that mean "our key or project", not "this request". */
const CREDENTIAL_REASONS = new Set(['API_KEY_INVALID', 'API_KEY_EXPIRED', 'API_KEY_SERVICE_BLOCKED', 'SERVICE_DISABLED', 'BILLING_DISABLED']);

export class GeminiProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly adapterVersion = 'gemini/2';
  readonly breaker: CircuitBreaker;
  private readonly limiter: Limiter;

  constructor(
    readonly id: string,
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = geminiConfig(),
    private readonly options: GeminiOptions = {},
  ) {
    this.breaker = options.breaker ?? new CircuitBreaker(cfg.vendor);
    this.limiter = options.limiter ?? new Limiter(cfg.maxConcurrency);
    this.capabilities = { operations: ['generate', 'edit', 'combine'], multiturn: true, maxConcurrency: cfg.maxConcurrency };
  }

  generate(input: GenerateInput): Promise<ProviderOutput> {
    return this.run(input, []);
  }

  edit(input: EditInput): Promise<ProviderOutput> {
    return this.run(input, [input.image]);
  }

  combine(input: CombineInput): Promise<ProviderOutput> {
    return this.run(input, input.images);
  }

  /** The request body for `input`, with `lead` images (to edit / to combine) before the references. */
  async buildRequest(input: GenerateInput, lead: InputImage[]): Promise<{ contents: Content[]; generationConfig: Record<string, unknown> }> {
    const { text, references } = composePrompt(input, lead.length);
    const current: Content = { role: 'user', parts: [{ text }, ...(await Promise.all([...lead, ...references].map(inline)))] };

    const maxTurns = this.options.maxHistoryTurns ?? 6;
    const budget = (this.options.maxInlineBytes ?? 15 * 1024 * 1024) - inlineSize(current);
    const turns: Content[][] = [];
    let used = 0;
    // Newest first, so the oldest turns are the ones dropped.
    for (const h of [...(input.history ?? [])].reverse()) {
      if (turns.length >= maxTurns) break;
      const model: Content = { role: 'model', parts: [await inline(h.image)] };
      const size = inlineSize(model);
      if (used + size > budget) break;
      used += size;
      turns.unshift([{ role: 'user', parts: [{ text: h.prompt }] }, model]);
    }
    const imageConfig: Record<string, string> = { aspectRatio: geminiAspectRatio(input.width, input.height) };
    if (this.options.imageSize) imageConfig.imageSize = geminiImageSize(input.width, input.height);
    return {
      contents: [...turns.flat(), current],
      generationConfig: { responseModalities: ['TEXT', 'IMAGE'], imageConfig },
    };
  }

  private async run(input: GenerateInput, lead: InputImage[]): Promise<ProviderOutput> {
    const key = this.cfg.apiKey;
    if (!key) throw notConfigured(this.cfg.vendor, this.cfg.apiKeyVar);
    const body = await this.buildRequest(input, lead);
    const report = progressReporter(input.onProgress, input.signal);
    return this.limiter.run(async () => {
      try {
        report({ stage: 'sampling' });
        const res = await vendorFetch(
          this.cfg,
          this.breaker,
          {
            method: 'POST',
            url: `/v1beta/models/${encodeURIComponent(this.vendorModel)}:generateContent`,
            headers: { 'x-goog-api-key': key },
            json: body,
            signal: input.signal,
          },
          { retryBaseMs: this.options.retryBaseMs },
        );
        const json = parseJson<GenerateContentResponse | null>(this.cfg.vendor, res);
        const image = await this.imageFrom(json);
        const params: ProviderParams = { vendor_model: this.vendorModel };
        const version = json?.modelVersion;
        if (typeof version === 'string' && version !== '' && version !== this.vendorModel) params.vendor_version = version.slice(0, 100);
        return { ...image, params };
      } catch (e) {
        throw redactSecret(this.mapError(e), key);
      }
    });
  }

  private async imageFrom(json: GenerateContentResponse | null): Promise<ProviderOutput> {
    const vendor = this.cfg.vendor;
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw malformed(vendor, 'a response that is not an object');
    const blockReason = json.promptFeedback?.blockReason;
    if (typeof blockReason === 'string' && blockReason !== 'BLOCK_REASON_UNSPECIFIED') throw safetyBlocked(vendor, 'input', blockReason);
    const cand = Array.isArray(json.candidates) ? json.candidates[0] : undefined;
    if (!cand || typeof cand !== 'object') throw malformed(vendor, 'a response without candidates');
    const finish = typeof cand.finishReason === 'string' ? cand.finishReason : undefined;
    if (finish && OUTPUT_BLOCKED.has(finish)) throw safetyBlocked(vendor, 'output', finish);
    const parts = Array.isArray(cand.content?.parts) ? cand.content.parts : [];
    let data: unknown;
    for (const p of parts) {
      if (!p || typeof p !== 'object' || p.thought === true) continue;
      data = p.inlineData?.data ?? p.inline_data?.data;
      if (data !== undefined) break;
    }
    if (data === undefined) throw malformed(vendor, `no image in the response${finish ? ` (finishReason ${finish})` : ''}`);
    return decodeBase64Image(vendor, data);
  }

  private mapError(e: unknown): unknown {
    const vb = vendorErrorBody(e);
    if (vb && vb.status === 400) {
      const err = (vb.json as { error?: { status?: unknown; details?: { reason?: unknown }[] } } | null)?.error;
      const reason = Array.isArray(err?.details) ? err.details.map((d) => d?.reason).find((r) => typeof r === 'string') : undefined;
      if ((typeof reason === 'string' && CREDENTIAL_REASONS.has(reason)) || err?.status === 'FAILED_PRECONDITION') {
        return new JobFailure(
          'provider_unavailable',
          `${this.cfg.vendor} refused our credentials or project (400${typeof reason === 'string' ? ` ${reason}` : ''}); the operator must check ${this.cfg.apiKeyVar} and the account.`,
          false,
        );
      }
    }
    return e;
  }
}

async function inline(img: InputImage): Promise<Part> {
  const v = await toVendorInput(img);
  return { inlineData: { mimeType: v.mime, data: v.bytes.toString('base64') } };
}

function inlineSize(c: Content): number {
  let n = 0;
  for (const p of c.parts) if ('inlineData' in p) n += p.inlineData.data.length;
  return n;
}
