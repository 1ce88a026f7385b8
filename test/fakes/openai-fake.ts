/**
 * A local stand-in for the OpenAI Images API (api.openai.com), written from the API reference:
 *   POST /v1/images/generations (JSON) and POST /v1/images/edits (multipart/form-data),
 *   `Authorization: Bearer <key>`, answers `{created, data: [{b64_json | url}], ...}` and errors as
 *   `{error: {message, type, param, code}}`.
 * It validates requests the way the vendor does (auth, path, method, content type, required and
 * unknown fields, allowed sizes per model, `response_format` only for dall-e models, image parts that
 * really decode), answers with REAL PNG bytes (a solid colour derived from the prompt, so outputs can
 * be told apart), records every request, and can be scripted per test.
 *
 * Streaming (GPT image models, API reference "Image streaming"): `stream: true` with
 * `partial_images: N` (0–3) answers `text/event-stream` — N `image_generation.partial_image`
 * (`image_edit.partial_image` for edits) events with real PNG frames, coarse to fine (the final
 * colour faded in from grey), spaced over `streamLatencyMs`, then `…completed` with the final
 * image and usage. A `stream-error` step sends an `error` event mid-stream. The fake records
 * how many partials it sent and whether the client closed the connection before the end.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import sharp from 'sharp';

export interface DecodedFile {
  field: string;
  filename: string | undefined;
  contentType: string | undefined;
  bytes: Buffer;
  format: string | undefined;
  width: number;
  height: number;
  /** Mean RGB of the decoded image (solid test images: their colour). */
  rgb: [number, number, number];
}

export interface RecordedRequest {
  /** Milliseconds (performance.now) when the request was complete at the fake. */
  at: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  kind: 'generations' | 'edits' | 'cdn' | 'other';
  json?: Record<string, unknown>;
  fields?: Record<string, string>;
  files?: DecodedFile[];
  /** What the fake answered: HTTP status, or 'hang'. */
  answer?: number | 'hang';
  /** Streaming answers: partial frames written, and whether the client hung up before the end. */
  partialsSent?: number;
  clientClosed?: boolean;
  /** When the last stream event was written (performance.now). */
  lastEventAt?: number;
  /** Why the fake rejected the request as invalid (a 400 the adapter caused). */
  invalid?: string;
}

export type OpenAIStep =
  | { kind: 'status'; status: number; retryAfter?: string; code?: string }
  | { kind: 'hang' }
  | { kind: 'unauthorized' }
  | { kind: 'safety'; code?: 'content_policy_violation' | 'moderation_blocked' }
  | { kind: 'malformed-json' }
  | { kind: 'not-image' }
  | { kind: 'no-image' }
  | { kind: 'url' }
  | { kind: 'delay'; ms: number }
  /** Streaming only: `after` partial frames (default 1), then an `error` event with this code/type. */
  | { kind: 'stream-error'; code?: string; type?: string; after?: number };

const GPT_SIZES = ['1024x1024', '1536x1024', '1024x1536', 'auto'];
const SIZES: Record<string, string[]> = {
  'dall-e-2': ['256x256', '512x512', '1024x1024'],
  'dall-e-3': ['1024x1024', '1792x1024', '1024x1792'],
};
const GEN_FIELDS = new Set(['model', 'prompt', 'n', 'size', 'quality', 'response_format', 'style', 'user', 'background', 'moderation', 'output_format', 'output_compression', 'stream', 'partial_images']);
const EDIT_FIELDS = new Set(['model', 'prompt', 'n', 'size', 'quality', 'response_format', 'user', 'background', 'input_fidelity', 'output_format', 'output_compression', 'stream', 'partial_images']);

export function colourOf(text: string): [number, number, number] {
  const h = createHash('sha256').update(text).digest();
  return [h[0]!, h[1]!, h[2]!];
}

export async function solidPng(width: number, height: number, rgb: [number, number, number]): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();
}

export class OpenAIFake {
  readonly requests: RecordedRequest[] = [];
  /** Images the fake produced: sha256 → prompt. */
  readonly produced = new Map<string, string>();
  private readonly steps: OpenAIStep[] = [];
  private persistent: OpenAIStep | null = null;
  private readonly promptRules: { fragment: string; step: OpenAIStep }[] = [];
  private readonly cdn = new Map<string, Buffer>();
  private inFlight = 0;
  maxInFlight = 0;
  baseUrl = '';
  /** How long a streamed generation takes: the partial frames and the final one are spread over it. */
  streamLatencyMs = 60;
  /** Write all partial frames at once (one network chunk), then wait for the final one: a client sees several events together. */
  burstPartials = false;

  private constructor(
    readonly apiKey: string,
    private readonly server: http.Server,
  ) {}

  static async start(opts: { apiKey: string }): Promise<OpenAIFake> {
    let fake!: OpenAIFake;
    const server = http.createServer((req, res) => {
      fake.handle(req, res).catch((e) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `fake crashed: ${(e as Error).message}`, type: 'server_error', param: null, code: null } }));
      });
    });
    fake = new OpenAIFake(opts.apiKey, server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    fake.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return fake;
  }

  /** Queue behaviours for the next API requests (CDN downloads do not consume steps). */
  script(...steps: OpenAIStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  failNext(n: number, status: number, retryAfter?: string): this {
    for (let i = 0; i < n; i++) this.steps.push({ kind: 'status', status, retryAfter });
    return this;
  }

  /**
   * A behaviour for every request whose prompt contains `fragment`, before the queue is consulted:
   * with many jobs in flight at once (a batch), the order of requests is not known, their prompts are.
   */
  forPrompt(fragment: string, step: OpenAIStep): this {
    this.promptRules.push({ fragment, step });
    return this;
  }

  /** A behaviour for every API request once the queue is empty (null: normal service). */
  always(step: OpenAIStep | null): this {
    this.persistent = step;
    return this;
  }

  api(): RecordedRequest[] {
    return this.requests.filter((r) => r.kind === 'generations' || r.kind === 'edits');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    const kind = path === '/v1/images/generations' ? 'generations' : path === '/v1/images/edits' ? 'edits' : path.startsWith('/cdn/') ? 'cdn' : 'other';
    const rec: RecordedRequest = { at: performance.now(), method: req.method ?? '', path, headers: req.headers, kind };
    this.requests.push(rec);
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      rec.answer = status;
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    };
    const invalid = (message: string, param: string | null = null, code: string | null = null) => {
      rec.invalid = message;
      send(400, { error: { message, type: 'invalid_request_error', param, code } });
    };

    // The CDN: no auth (the URL is the credential); the fake insists our key is NOT sent there.
    if (kind === 'cdn') {
      if (req.headers.authorization) return invalid('the CDN must not receive an Authorization header');
      const img = this.cdn.get(path);
      if (!img) return send(404, { error: 'not found' });
      rec.answer = 200;
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(img);
      return;
    }

    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${this.apiKey}`) {
      // Like the vendor, but harsher: the real API masks the key it echoes; the fake echoes it whole.
      return send(401, {
        error: { message: `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });
    }
    if (req.method !== 'POST' || (path !== '/v1/images/generations' && path !== '/v1/images/edits')) {
      return send(404, { error: { message: `Invalid URL (${req.method} ${path})`, type: 'invalid_request_error', param: null, code: null } });
    }

    let params: Record<string, unknown>;
    const ct = String(req.headers['content-type'] ?? '');
    if (path === '/v1/images/generations') {
      if (!ct.startsWith('application/json')) return invalid('Content-Type must be application/json');
      try {
        params = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return invalid('We could not parse the JSON body of your request.');
      }
      if (!params || typeof params !== 'object' || Array.isArray(params)) return invalid('The body must be a JSON object.');
      rec.json = params;
      for (const k of Object.keys(params)) if (!GEN_FIELDS.has(k)) return invalid(`Unknown parameter: '${k}'.`, k, 'unknown_parameter');
    } else {
      if (!ct.startsWith('multipart/form-data')) return invalid('Content-Type must be multipart/form-data');
      const parts = parseMultipart(body, ct);
      if (typeof parts === 'string') return invalid(`Malformed multipart body: ${parts}`);
      const fields: Record<string, string> = {};
      const files: DecodedFile[] = [];
      for (const p of parts) {
        if (p.filename !== undefined) {
          if (p.name !== 'image' && p.name !== 'image[]' && p.name !== 'mask') return invalid(`Unknown file parameter: '${p.name}'.`, p.name, 'unknown_parameter');
          const decoded = await decode(p.data);
          if (!decoded || !['png', 'jpeg', 'webp'].includes(decoded.format ?? '')) {
            return invalid(`Invalid image file or mode for image ${files.length + 1}, please check your image file.`, p.name, 'invalid_image_file');
          }
          const declared = p.contentType ?? '';
          if (declared !== `image/${decoded.format}`) return invalid(`Invalid file '${p.name}': unsupported mimetype ('${declared}').`, p.name, 'unsupported_file_mimetype');
          files.push({ field: p.name, filename: p.filename, contentType: p.contentType, bytes: p.data, ...decoded });
        } else {
          if (!EDIT_FIELDS.has(p.name)) return invalid(`Unknown parameter: '${p.name}'.`, p.name, 'unknown_parameter');
          if (p.name in fields) return invalid(`Duplicate parameter: '${p.name}'.`, p.name);
          fields[p.name] = p.data.toString('utf8');
        }
      }
      rec.fields = fields;
      rec.files = files;
      params = { ...fields };
      if (params.n !== undefined) params.n = Number(params.n);
      // Form fields are text: booleans and integers as the API parses them.
      if (params.stream !== undefined) params.stream = params.stream === 'true' ? true : params.stream === 'false' ? false : params.stream;
      if (params.partial_images !== undefined && /^\d+$/.test(String(params.partial_images))) params.partial_images = Number(params.partial_images);
      const images = files.filter((f) => f.field !== 'mask');
      if (images.length === 0) return invalid("You must provide an 'image' in the request.", 'image');
      if (images.some((f) => f.field === 'image') && images.some((f) => f.field === 'image[]')) return invalid("Use either 'image' or 'image[]', not both.", 'image');
      if (images.filter((f) => f.field === 'image').length > 1) return invalid("Several files under 'image': use 'image[]' for several images.", 'image');
      const model = String(params.model ?? 'dall-e-2');
      if (model.startsWith('dall-e-3')) return invalid('Image edits are not supported for dall-e-3.', 'model');
      if (model.startsWith('dall-e-2') && images.length > 1) return invalid('dall-e-2 accepts a single image.', 'image');
      if (images.length > 16) return invalid('At most 16 images.', 'image');
    }

    // Shared field validation.
    const model = typeof params.model === 'string' ? params.model : 'dall-e-2';
    const dalle = model.startsWith('dall-e');
    if (typeof params.prompt !== 'string' || params.prompt.length === 0) return invalid("Missing required parameter: 'prompt'.", 'prompt', 'missing_required_parameter');
    if (params.n !== undefined && !(Number.isInteger(params.n) && (params.n as number) >= 1 && (params.n as number) <= 10)) return invalid('n must be 1–10', 'n');
    if (model.startsWith('dall-e-3') && params.n !== undefined && params.n !== 1) return invalid('dall-e-3 supports n=1 only', 'n');
    const allowed = SIZES[model.startsWith('dall-e-3') ? 'dall-e-3' : model.startsWith('dall-e-2') ? 'dall-e-2' : ''] ?? GPT_SIZES;
    if (params.size !== undefined && !allowed.includes(String(params.size))) {
      return invalid(`Invalid value: '${String(params.size)}'. Supported values are: ${allowed.map((s) => `'${s}'`).join(', ')}.`, 'size', 'invalid_value');
    }
    if (!dalle && params.response_format !== undefined) return invalid("Unknown parameter: 'response_format'.", 'response_format', 'unknown_parameter');
    if (params.response_format !== undefined && params.response_format !== 'url' && params.response_format !== 'b64_json') {
      return invalid('response_format must be url or b64_json', 'response_format');
    }
    if (params.stream !== undefined && typeof params.stream !== 'boolean') return invalid("Invalid type for 'stream': expected a boolean.", 'stream', 'invalid_type');
    if (params.stream === true && dalle) return invalid(`Streaming is not supported for model ${model}.`, 'stream', 'unsupported_value');
    if (params.partial_images !== undefined && !(Number.isInteger(params.partial_images) && (params.partial_images as number) >= 0 && (params.partial_images as number) <= 3)) {
      return invalid('partial_images must be an integer from 0 to 3.', 'partial_images', 'invalid_value');
    }
    const streaming = params.stream === true;

    // Scripted behaviour.
    const rule = this.promptRules.find((r) => String(params.prompt).includes(r.fragment));
    const step = rule ? rule.step : (this.steps.shift() ?? this.persistent);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (step?.kind === 'delay') await new Promise((r) => setTimeout(r, step.ms));
      switch (step?.kind) {
        case 'status':
          return send(
            step.status,
            { error: { message: `scripted ${step.status}`, type: step.status === 429 ? 'requests' : 'server_error', param: null, code: step.code ?? null } },
            step.retryAfter !== undefined ? { 'retry-after': step.retryAfter } : {},
          );
        case 'hang':
          rec.answer = 'hang';
          await new Promise<void>((r) => req.socket.once('close', () => r()));
          return;
        case 'unauthorized':
          return send(401, { error: { message: `Incorrect API key provided: ${this.apiKey}.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
        case 'safety': {
          const code = step.code ?? (dalle ? 'content_policy_violation' : 'moderation_blocked');
          return send(400, {
            error: {
              message: 'Your request was rejected as a result of our safety system. Your request may contain content that is not allowed by our safety system.',
              type: dalle ? 'invalid_request_error' : 'image_generation_user_error',
              param: null,
              code,
            },
          });
        }
        case 'malformed-json':
          if (streaming) return this.stream(res, rec, kind, [{ raw: '{"type": "image_generation.completed", "b64_json": "iVBOR' }]);
          return send(200, '{"created": 1700000000, "data": [{"b64_json": "iVBOR');
        case 'not-image':
          if (streaming) return this.stream(res, rec, kind, [{ type: 'completed', b64: Buffer.from('this is not an image at all').toString('base64') }]);
          return send(200, { created: 1700000000, data: [{ b64_json: Buffer.from('this is not an image at all').toString('base64') }] });
        case 'no-image':
          if (streaming) return this.stream(res, rec, kind, []);
          return send(200, { created: 1700000000, data: [] });
        default:
          break;
      }
      const size = String(params.size ?? (dalle ? '1024x1024' : 'auto'));
      const [w, h] = size === 'auto' ? [1024, 1024] : size.split('x').map(Number);
      const final = colourOf(String(params.prompt));
      const png = await solidPng(w!, h!, final);
      this.produced.set(sha256(png), String(params.prompt));
      if (streaming) {
        const n = Number(params.partial_images ?? 0);
        const partialCount = step?.kind === 'stream-error' ? Math.min(n, step.after ?? 1) : n;
        const frames: StreamFrame[] = [];
        for (let i = 0; i < partialCount; i++) {
          // Coarse to fine: the final colour faded in from grey.
          const t = (i + 1) / (n + 1);
          const rgb = final.map((c) => Math.round(128 + (c - 128) * t)) as [number, number, number];
          frames.push({ type: 'partial', b64: (await solidPng(w!, h!, rgb)).toString('base64'), index: i, size });
        }
        if (step?.kind === 'stream-error') frames.push({ type: 'error', code: step.code ?? 'server_error', errorType: step.type ?? 'server_error' });
        else frames.push({ type: 'completed', b64: png.toString('base64'), size });
        return this.stream(res, rec, kind, frames);
      }
      const wantsUrl = step?.kind === 'url' || (dalle && params.response_format !== 'b64_json');
      if (wantsUrl) {
        const cdnPath = `/cdn/${this.cdn.size + 1}.png`;
        this.cdn.set(cdnPath, png);
        return send(200, { created: 1700000000, data: [{ url: `${this.baseUrl}${cdnPath}`, revised_prompt: String(params.prompt) }] });
      }
      return send(200, {
        created: 1700000000,
        ...(dalle ? {} : { background: 'opaque', output_format: 'png', quality: 'medium', size }),
        data: [{ b64_json: png.toString('base64') }],
        ...(dalle ? {} : { usage: { input_tokens: 50, output_tokens: 1056, total_tokens: 1106, input_tokens_details: { text_tokens: 50, image_tokens: 0 } } }),
      });
    } finally {
      this.inFlight--;
    }
  }

  /**
   * Writes `frames` as an event stream, spaced evenly over streamLatencyMs, and stops at once when
   * the client hangs up (recorded: the adapter must end the request when its job is canceled).
   */
  private async stream(res: http.ServerResponse, rec: RecordedRequest, kind: string, frames: StreamFrame[]): Promise<void> {
    const prefix = kind === 'edits' ? 'image_edit' : 'image_generation';
    rec.answer = 200;
    rec.partialsSent = 0;
    let closed = false;
    res.on('close', () => {
      closed = true;
      if (!res.writableFinished) rec.clientClosed = true;
    });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const gap = this.streamLatencyMs / Math.max(1, frames.length);
    const base = { created_at: 1700000000, background: 'opaque', output_format: 'png', quality: 'medium' };
    for (const [i, f] of frames.entries()) {
      const burst = this.burstPartials && 'type' in f && f.type === 'partial' && i > 0;
      if (!burst) await new Promise((r) => setTimeout(r, gap));
      if (closed) return;
      let event: string;
      let data: string;
      if ('raw' in f) {
        [event, data] = [`${prefix}.completed`, f.raw];
      } else if (f.type === 'partial') {
        event = `${prefix}.partial_image`;
        data = JSON.stringify({ type: event, b64_json: f.b64, partial_image_index: f.index, size: f.size, ...base });
        rec.partialsSent++;
      } else if (f.type === 'completed') {
        event = `${prefix}.completed`;
        data = JSON.stringify({
          type: event,
          b64_json: f.b64,
          size: f.size ?? '1024x1024',
          ...base,
          usage: { input_tokens: 50, output_tokens: 1056, total_tokens: 1106, input_tokens_details: { text_tokens: 50, image_tokens: 0 } },
        });
      } else {
        event = 'error';
        data = JSON.stringify({ type: 'error', error: { type: f.errorType, code: f.code, message: `scripted stream error (${f.code})`, param: null } });
      }
      res.write(`event: ${event}\ndata: ${data}\n\n`);
      rec.lastEventAt = performance.now();
    }
    res.end();
  }
}

type StreamFrame =
  | { type: 'partial'; b64: string; index: number; size: string }
  | { type: 'completed'; b64: string; size?: string }
  | { type: 'error'; code: string; errorType: string }
  | { raw: string };

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function decode(bytes: Buffer): Promise<Omit<DecodedFile, 'field' | 'filename' | 'contentType' | 'bytes'> | null> {
  try {
    const meta = await sharp(bytes).metadata();
    const stats = await sharp(bytes).stats();
    const c = stats.channels;
    return {
      format: meta.format,
      width: meta.width ?? 0,
      height: meta.height ?? 0,
      rgb: [Math.round(c[0]!.mean), Math.round((c[1] ?? c[0]!).mean), Math.round((c[2] ?? c[0]!).mean)],
    };
  } catch {
    return null;
  }
}

interface RawPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** A strict multipart/form-data parser (RFC 7578): CRLF line ends, a boundary from the header. */
export function parseMultipart(body: Buffer, contentType: string): RawPart[] | string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) return 'no boundary';
  const delim = Buffer.from(`--${boundary}`);
  const parts: RawPart[] = [];
  if (body.indexOf(delim) !== 0) return 'body does not start with the boundary';
  let pos = delim.length;
  for (;;) {
    if (body.subarray(pos, pos + 2).toString() === '--') return parts;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') return 'boundary not followed by CRLF';
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return 'part without header end';
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return 'part without closing boundary';
    const data = body.subarray(headEnd + 4, next);
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    const cd = headers['content-disposition'] ?? '';
    if (!/^form-data\b/i.test(cd)) return 'part without form-data disposition';
    const name = /\bname="([^"]*)"/i.exec(cd)?.[1];
    if (name === undefined) return 'part without name';
    const filename = /\bfilename="([^"]*)"/i.exec(cd)?.[1];
    parts.push({ name, filename, contentType: headers['content-type'], data: Buffer.from(data) });
    pos = next + 2 + delim.length;
  }
}
