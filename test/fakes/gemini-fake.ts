/**
 * A local stand-in for the Gemini API (generativelanguage.googleapis.com), written from the API
 * reference for `models.generateContent` (v1beta) and the image-generation guide:
 *   POST /v1beta/models/{model}:generateContent, key in `x-goog-api-key` (or `?key=`),
 *   body {contents: [{role, parts: [{text} | {inlineData: {mimeType, data}}]}], generationConfig},
 *   answer {candidates: [{content: {role: 'model', parts}, finishReason}], promptFeedback?, usageMetadata, modelVersion},
 *   errors {error: {code, message, status, details?}} — a wrong key is a 400 INVALID_ARGUMENT with
 *   reason API_KEY_INVALID, a missing key a 403 PERMISSION_DENIED, as the real service answers.
 * Validates like the vendor (auth, path, model, unknown fields, roles alternating user/model and
 * ending with user, every part exactly one of text / inlineData, inline data that is base64 of an
 * image that decodes and matches its mimeType, allowed aspect ratios / image sizes), answers with REAL
 * PNG bytes (solid colour from the turn's text), records every request, and can be scripted.
 * With `strictHistory`, a model-role image must be one this fake produced, for the user text just before it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { colourOf, decode, sha256, solidPng, type DecodedFile } from './openai-fake.js';

export interface GeminiImagePart extends Omit<DecodedFile, 'field' | 'filename' | 'contentType'> {
  mimeType: string;
  sha256: string;
}

export interface GeminiContentSummary {
  role: string;
  texts: string[];
  images: GeminiImagePart[];
}

export interface GeminiRecordedRequest {
  at: number;
  method: string;
  path: string;
  model?: string;
  headers: http.IncomingHttpHeaders;
  /** The key arrived in the URL (`?key=`): allowed by the vendor, but our adapter must not do it. */
  keyInUrl: boolean;
  json?: Record<string, unknown>;
  contents?: GeminiContentSummary[];
  answer?: number | 'hang';
  invalid?: string;
}

export type GeminiStep =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'bad-key' }
  | { kind: 'safety'; stage: 'input' | 'output'; reason?: string }
  | { kind: 'malformed-json' }
  | { kind: 'not-image' }
  | { kind: 'no-image'; finishReason?: string }
  | { kind: 'thought-images' }
  | { kind: 'delay'; ms: number };

/** Output pixel sizes per aspect ratio (Gemini 2.5 Flash Image, 1K). */
const RATIO_SIZES: Record<string, [number, number]> = {
  '1:1': [1024, 1024],
  '2:3': [832, 1248],
  '3:2': [1248, 832],
  '3:4': [864, 1184],
  '4:3': [1184, 864],
  '4:5': [896, 1152],
  '5:4': [1152, 896],
  '9:16': [768, 1344],
  '16:9': [1344, 768],
  '21:9': [1536, 672],
};
const TOP_FIELDS = new Set(['contents', 'generationConfig', 'safetySettings', 'systemInstruction', 'tools', 'toolConfig', 'cachedContent']);
const GEN_CONFIG_FIELDS = new Set([
  'responseModalities', 'imageConfig', 'temperature', 'topP', 'topK', 'candidateCount', 'maxOutputTokens', 'seed',
  'stopSequences', 'responseMimeType', 'thinkingConfig', 'presencePenalty', 'frequencyPenalty',
]);
const INLINE_MIME = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif']);
const STATUS_NAME: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED' };

export class GeminiFake {
  readonly requests: GeminiRecordedRequest[] = [];
  /** Images the fake produced: sha256 → the user text of the turn that produced it. */
  readonly produced = new Map<string, string>();
  private readonly steps: GeminiStep[] = [];
  private persistent: GeminiStep | null = null;
  private inFlight = 0;
  maxInFlight = 0;
  baseUrl = '';
  /** `modelVersion` answered for a model (an alias resolved to a dated version); default: the model id itself. */
  readonly modelVersions: Record<string, string> = {};

  private constructor(
    readonly apiKey: string,
    readonly models: string[],
    readonly strictHistory: boolean,
    private readonly server: http.Server,
  ) {}

  static async start(opts: { apiKey: string; models?: string[]; strictHistory?: boolean }): Promise<GeminiFake> {
    let fake!: GeminiFake;
    const server = http.createServer((req, res) => {
      fake.handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 500, message: `fake crashed: ${(e as Error).message}`, status: 'INTERNAL' } }));
      });
    });
    fake = new GeminiFake(opts.apiKey, opts.models ?? ['gemini-2.5-flash-image', 'gemini-3-pro-image-preview'], opts.strictHistory ?? false, server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  script(...steps: GeminiStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  failNext(n: number, status: number, retryAfter?: string): this {
    for (let i = 0; i < n; i++) this.steps.push({ kind: 'status', status, retryAfter });
    return this;
  }

  always(step: GeminiStep | null): this {
    this.persistent = step;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const rec: GeminiRecordedRequest = {
      at: performance.now(),
      method: req.method ?? '',
      path: url.pathname,
      headers: req.headers,
      keyInUrl: url.searchParams.has('key'),
    };
    this.requests.push(rec);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      rec.answer = status;
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
      res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    };
    const error = (status: number, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
      send(status, { error: { code: status, message, status: STATUS_NAME[status] ?? 'UNKNOWN', ...extra } }, headers);
    const invalid = (message: string) => {
      rec.invalid = message;
      error(400, message);
    };

    const key = (req.headers['x-goog-api-key'] as string | undefined) ?? url.searchParams.get('key') ?? undefined;
    if (!key) {
      return error(403, "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.");
    }
    if (key !== this.apiKey) return this.badKey(error);

    const m = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(url.pathname);
    if (req.method !== 'POST' || !m) return error(404, `Method not found: ${req.method} ${url.pathname}`);
    const model = decodeURIComponent(m[1]!);
    rec.model = model;
    if (!this.models.includes(model)) return error(404, `models/${model} is not found for API version v1beta, or is not supported for generateContent.`);
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return invalid('Content-Type must be application/json');

    let json: Record<string, unknown>;
    try {
      json = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return invalid('Invalid JSON payload received.');
    }
    if (!json || typeof json !== 'object' || Array.isArray(json)) return invalid('Invalid JSON payload received: not an object.');
    rec.json = json;
    for (const k of Object.keys(json)) if (!TOP_FIELDS.has(k)) return invalid(`Invalid JSON payload received. Unknown name "${k}": Cannot find field.`);

    // contents
    const contents = json.contents;
    if (!Array.isArray(contents) || contents.length === 0) return invalid('* GenerateContentRequest.contents: contents is not specified');
    const summary: GeminiContentSummary[] = [];
    for (const [i, c] of contents.entries()) {
      if (!c || typeof c !== 'object') return invalid(`contents[${i}] is not an object`);
      const role = (c as { role?: unknown }).role ?? (contents.length === 1 ? 'user' : undefined);
      if (role !== 'user' && role !== 'model') return invalid(`contents[${i}].role must be "user" or "model" in a multi-turn request`);
      const expected = i % 2 === 0 ? 'user' : 'model';
      if (role !== expected) return invalid(`contents[${i}]: turns must alternate user/model starting with user (got ${String(role)})`);
      const parts = (c as { parts?: unknown }).parts;
      if (!Array.isArray(parts) || parts.length === 0) return invalid(`* GenerateContentRequest.contents[${i}].parts: contents.parts must not be empty.`);
      const s: GeminiContentSummary = { role, texts: [], images: [] };
      for (const [j, p] of parts.entries()) {
        const keys = p && typeof p === 'object' ? Object.keys(p as object).filter((k) => k !== 'thoughtSignature' && k !== 'thought') : [];
        if (keys.length !== 1) return invalid(`contents[${i}].parts[${j}] must have exactly one data field (got ${keys.join(', ') || 'none'})`);
        const k = keys[0]!;
        if (k === 'text') {
          const t = (p as { text: unknown }).text;
          if (typeof t !== 'string') return invalid(`contents[${i}].parts[${j}].text must be a string`);
          s.texts.push(t);
        } else if (k === 'inlineData' || k === 'inline_data') {
          const d = (p as Record<string, Record<string, unknown>>)[k]!;
          const mime = d.mimeType ?? d.mime_type;
          const data = d.data;
          if (typeof mime !== 'string' || !INLINE_MIME.has(mime)) return invalid(`contents[${i}].parts[${j}]: unsupported inline mimeType ${String(mime)}`);
          if (typeof data !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return invalid(`contents[${i}].parts[${j}]: inline data is not base64`);
          const bytes = Buffer.from(data, 'base64');
          const dec = await decode(bytes);
          if (!dec) return invalid(`contents[${i}].parts[${j}]: Unable to process input image.`);
          if (`image/${dec.format}` !== mime) return invalid(`contents[${i}].parts[${j}]: mimeType ${mime} does not match the ${dec.format} data`);
          s.images.push({ ...dec, bytes, mimeType: mime, sha256: sha256(bytes) });
        } else {
          return invalid(`contents[${i}].parts[${j}]: the fake does not take "${k}" parts`);
        }
      }
      summary.push(s);
    }
    rec.contents = summary;
    if (summary[summary.length - 1]!.role !== 'user') return invalid('The last content must have role "user".');

    // generationConfig
    const gc = (json.generationConfig ?? {}) as Record<string, unknown>;
    if (typeof gc !== 'object' || Array.isArray(gc)) return invalid('generationConfig must be an object');
    for (const k of Object.keys(gc)) if (!GEN_CONFIG_FIELDS.has(k)) return invalid(`Invalid JSON payload received. Unknown name "${k}" at 'generation_config': Cannot find field.`);
    const modalities = gc.responseModalities;
    if (!Array.isArray(modalities) || !modalities.some((x) => String(x).toUpperCase() === 'IMAGE')) {
      return invalid('This fake (an image model) needs generationConfig.responseModalities to include IMAGE.');
    }
    for (const x of modalities) if (!['TEXT', 'IMAGE'].includes(String(x).toUpperCase())) return invalid(`Unknown response modality ${String(x)}`);
    const ic = (gc.imageConfig ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(ic)) if (k !== 'aspectRatio' && k !== 'imageSize') return invalid(`Unknown name "${k}" at 'generation_config.image_config'`);
    const ratio = ic.aspectRatio === undefined ? '1:1' : String(ic.aspectRatio);
    if (!RATIO_SIZES[ratio]) return invalid(`Unsupported aspect ratio: ${ratio}`);
    if (ic.imageSize !== undefined && !['1K', '2K', '4K'].includes(String(ic.imageSize))) return invalid(`Unsupported image size: ${String(ic.imageSize)}`);

    if (this.strictHistory) {
      for (let i = 1; i < summary.length; i += 2) {
        for (const img of summary[i]!.images) {
          const producedFor = this.produced.get(img.sha256);
          const userText = summary[i - 1]!.texts.join('\n').trim();
          if (producedFor === undefined) return invalid(`model turn ${i} carries an image this fake never produced`);
          if (!userText || !producedFor.includes(userText)) return invalid(`model turn ${i}'s image was produced for a different prompt than the user turn before it`);
        }
      }
    }

    const step = this.steps.shift() ?? this.persistent;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (step?.kind === 'delay') await new Promise((r) => setTimeout(r, step.ms));
      const usage = { promptTokenCount: 20, candidatesTokenCount: 1290, totalTokenCount: 1310 };
      switch (step?.kind) {
        case 'status':
          return error(step.status, `scripted ${step.status}`, {}, step.retryAfter !== undefined ? { 'retry-after': step.retryAfter } : {});
        case 'hang':
          rec.answer = 'hang';
          await new Promise<void>((r) => req.socket.once('close', () => r()));
          return;
        case 'bad-key':
          return this.badKey(error);
        case 'safety':
          if (step.stage === 'input') return send(200, { promptFeedback: { blockReason: step.reason ?? 'PROHIBITED_CONTENT' }, usageMetadata: usage, modelVersion: model });
          return send(200, { candidates: [{ finishReason: step.reason ?? 'IMAGE_SAFETY', index: 0 }], usageMetadata: usage, modelVersion: model });
        case 'malformed-json':
          return send(200, '{"candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "image/png", "data": "iVBO');
        case 'not-image':
          return send(200, {
            candidates: [{ content: { role: 'model', parts: [{ inlineData: { mimeType: 'image/png', data: Buffer.from('definitely not a png').toString('base64') } }] }, finishReason: 'STOP', index: 0 }],
            usageMetadata: usage,
            modelVersion: model,
          });
        case 'no-image':
          return send(200, {
            candidates: [{ content: { role: 'model', parts: [{ text: 'I can describe it instead: a lighthouse.' }] }, finishReason: step.finishReason ?? 'STOP', index: 0 }],
            usageMetadata: usage,
            modelVersion: model,
          });
        default:
          break;
      }
      const current = summary[summary.length - 1]!;
      const text = current.texts.join('\n');
      const [w, h] = RATIO_SIZES[ratio]!;
      const png = await solidPng(w, h, colourOf(text));
      this.produced.set(sha256(png), text);
      const parts: Record<string, unknown>[] = [{ text: 'Here is the image you asked for.' }];
      if (step?.kind === 'thought-images') {
        const draft = await solidPng(w, h, colourOf(`draft:${text}`));
        parts.unshift({ text: 'Planning the composition…', thought: true }, { inlineData: { mimeType: 'image/png', data: draft.toString('base64') }, thought: true });
      }
      parts.push({ inlineData: { mimeType: 'image/png', data: png.toString('base64') }, thoughtSignature: 'c2lnbmF0dXJl' });
      return send(200, {
        candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
        usageMetadata: usage,
        modelVersion: this.modelVersions[model] ?? model,
        responseId: `fake-${this.requests.length}`,
      });
    } finally {
      this.inFlight--;
    }
  }

  private badKey(error: (status: number, message: string, extra?: Record<string, unknown>) => void): void {
    error(400, 'API key not valid. Please pass a valid API key.', {
      details: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
        { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
      ],
    });
  }
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
