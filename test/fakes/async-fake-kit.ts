/**
 * What the fal / Replicate / BFL fakes share: a real node:http server on 127.0.0.1 (port 0) that
 * records every request, answers through a vendor-specific router, serves its own "CDN" files,
 * and can be scripted per test (next N requests of a kind answer 429/5xx/401, hang, or return
 * broken JSON). Images are real PNGs rendered with sharp, one colour per prompt.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import sharp from 'sharp';

export interface Recorded {
  seq: number;
  kind: string;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body parsed as JSON, when it was JSON. */
  json?: unknown;
  /** Date.now() when the request arrived / its answer finished. */
  at: number;
  answeredAt?: number;
  status?: number;
}

export type Injection =
  /** Answer this status (e.g. 429 with Retry-After, 500, 503, 401) with a small JSON body. */
  | { status: number; retryAfter?: string | number; body?: string }
  /** Never answer (until the server closes). */
  | { hang: true }
  /** 200 with a body that is not JSON. */
  | { malformedJson: true };

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  body?: Buffer | string;
  /** Hold the answer this long first. */
  delayMs?: number;
}

/** How a scripted job ends. */
export type Outcome =
  | 'ok'
  /** The vendor's safety system blocked the generated image. */
  | 'nsfw_output'
  /** The vendor's safety system refused the prompt / input images. */
  | 'blocked_input'
  /** The generation failed on the vendor's side. */
  | 'error'
  /** The job never leaves the queue. */
  | 'never'
  /** The result URL serves something that is not an image. */
  | 'not_image'
  /** The finished result has the wrong shape. */
  | 'malformed_result'
  /** Replicate: the prediction was canceled. */
  | 'canceled';

export interface JobScript {
  /** Status polls answered "still running" before the job is done. */
  polls?: number;
  outcome?: Outcome;
}

export interface DecodedInput {
  width: number;
  height: number;
  format: string;
  color: { r: number; g: number; b: number };
  sha256: string;
}

export abstract class FakeVendorServer {
  readonly requests: Recorded[] = [];
  baseUrl = '';
  /** Every input image the fake received, decoded (edit/combine tests read these). */
  readonly decodedInputs: DecodedInput[] = [];
  defaults: Required<JobScript> = { polls: 1, outcome: 'ok' };
  private readonly script: JobScript[] = [];
  private readonly injections: { kind?: string; action: Injection; remaining: number }[] = [];
  private readonly cdn = new Map<string, { bytes: Buffer; contentType: string }>();
  private server?: http.Server;
  private seq = 0;

  /** 'submit' | 'status' | 'result' | 'cancel' | 'cdn' | 'other' — what injections match on. */
  protected abstract classify(method: string, url: URL): string;
  protected abstract route(rec: Recorded, url: URL): Promise<Reply | 'hang'>;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.onRequest(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as net.AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  /** Forget recorded requests, pending scripts and injections between tests. */
  reset(): void {
    this.requests.length = 0;
    this.decodedInputs.length = 0;
    this.script.length = 0;
    this.injections.length = 0;
    this.defaults = { polls: 1, outcome: 'ok' };
  }

  /** The next `times` requests of `kind` (any kind when omitted) get `action` instead of their real answer. */
  inject(action: Injection, opts: { times?: number; kind?: string } = {}): this {
    this.injections.push({ kind: opts.kind, action, remaining: opts.times ?? 1 });
    return this;
  }

  /** How the next submitted job behaves (queued; later jobs fall back to `defaults`). */
  nextJob(s: JobScript): this {
    this.script.push(s);
    return this;
  }

  of(kind: string): Recorded[] {
    return this.requests.filter((r) => r.kind === kind);
  }

  protected takeScript(): Required<JobScript> {
    return { ...this.defaults, ...this.script.shift() };
  }

  protected putCdn(name: string, bytes: Buffer, contentType: string): string {
    this.cdn.set(`/cdn/${name}`, { bytes, contentType });
    return `${this.baseUrl}/cdn/${name}`;
  }

  /** Hook for CDNs with signed URLs (BFL): return a refusal, or null to serve the file. */
  protected checkCdn(_url: URL): Reply | null {
    return null;
  }

  /** Decodes a data URI or raw base64 image like the vendor's model server would; null if not an image. */
  protected async decodeInput(s: unknown): Promise<DecodedInput | null> {
    if (typeof s !== 'string') return null;
    const m = /^data:image\/[\w.+-]+;base64,(.*)$/s.exec(s);
    const b64 = m ? m[1]! : /^[A-Za-z0-9+/=\s]+$/.test(s) ? s : null;
    if (b64 === null) return null;
    try {
      const bytes = Buffer.from(b64, 'base64');
      const meta = await sharp(bytes).metadata();
      const { data } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const d: DecodedInput = {
        width: meta.width!,
        height: meta.height!,
        format: String(meta.format),
        color: { r: data[0]!, g: data[1]!, b: data[2]! },
        sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      };
      this.decodedInputs.push(d);
      return d;
    } catch {
      return null;
    }
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.baseUrl);
    const rec: Recorded = {
      seq: ++this.seq,
      kind: url.pathname.startsWith('/cdn/') ? 'cdn' : this.classify(req.method ?? 'GET', url),
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
      at: Date.now(),
    };
    if (body.length > 0 && /json/.test(String(req.headers['content-type']))) {
      try {
        rec.json = JSON.parse(body.toString('utf8'));
      } catch {
        /* left undefined: the router answers 400/422 */
      }
    }
    this.requests.push(rec);
    res.on('finish', () => {
      rec.answeredAt = Date.now();
      rec.status = res.statusCode;
    });

    let reply: Reply | 'hang';
    const inj = this.injections.find((i) => i.remaining > 0 && (i.kind === undefined || i.kind === rec.kind));
    if (inj) {
      inj.remaining--;
      const a = inj.action;
      if ('hang' in a) reply = 'hang';
      else if ('malformedJson' in a) reply = { status: 200, headers: { 'content-type': 'application/json' }, body: '{"status": "IN_PROGR' };
      else
        reply = {
          status: a.status,
          headers: a.retryAfter !== undefined ? { 'retry-after': String(a.retryAfter) } : {},
          json: a.body === undefined ? { detail: `injected ${a.status}` } : undefined,
          body: a.body,
        };
    } else if (rec.kind === 'cdn') {
      reply = this.checkCdn(url) ?? this.serveCdn(url);
    } else {
      try {
        reply = await this.route(rec, url);
      } catch (e) {
        reply = { status: 500, json: { detail: `fake crashed: ${(e as Error).message}` } };
      }
    }
    if (reply === 'hang') return; // closeAllConnections() ends it
    if (reply.delayMs) await new Promise((r) => setTimeout(r, reply.delayMs));
    const headers = { ...reply.headers };
    let payload: Buffer | string = '';
    if (reply.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      payload = JSON.stringify(reply.json);
    } else if (reply.body !== undefined) {
      payload = reply.body;
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  private serveCdn(url: URL): Reply {
    const f = this.cdn.get(url.pathname);
    if (!f) return { status: 404, body: 'not found', headers: { 'content-type': 'text/plain' } };
    return { status: 200, headers: { 'content-type': f.contentType }, body: f.bytes };
  }
}

// ---------------------------------------------------------------------------------------------
// Images
// ---------------------------------------------------------------------------------------------

/** The colour the fakes paint for a prompt: distinct prompts, distinct pictures. */
export function colorFor(text: string): { r: number; g: number; b: number } {
  const h = crypto.createHash('sha256').update(text).digest();
  return { r: h[0]!, g: h[1]!, b: h[2]! };
}

/** A real PNG: `text`'s colour with a white band whose position also depends on `text`. */
export async function renderPng(text: string, width: number, height: number): Promise<Buffer> {
  const w = Math.max(8, Math.min(256, Math.round(width)));
  const h = Math.max(8, Math.min(256, Math.round(height)));
  const top = 2 + (crypto.createHash('sha256').update(text).digest()[3]! % (h - 6));
  const band = await sharp({ create: { width: w, height: 4, channels: 3, background: { r: 255, g: 255, b: 255 } } }).png().toBuffer();
  return sharp({ create: { width: w, height: h, channels: 3, background: colorFor(text) } })
    .composite([{ input: band, top, left: 0 }])
    .png()
    .toBuffer();
}

export async function solidPng(width: number, height: number, color: { r: number; g: number; b: number }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: color } }).png().toBuffer();
}

// ---------------------------------------------------------------------------------------------
// Test-side helpers
// ---------------------------------------------------------------------------------------------

/**
 * Independent witness for "network only to 127.0.0.1": every TCP connect this process starts is
 * recorded, and anything not on loopback is refused before a packet leaves.
 */
export function installLoopbackWitness(): string[] {
  const seen: string[] = [];
  const original = net.Socket.prototype.connect;
  (net.Socket.prototype as { connect: unknown }).connect = function (this: net.Socket, ...args: unknown[]) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const host =
      typeof first === 'object' && first !== null
        ? ((first as { host?: string }).host ?? 'localhost')
        : typeof args[1] === 'string'
          ? args[1]
          : 'localhost';
    seen.push(host);
    if (!['127.0.0.1', 'localhost'].includes(host)) throw new Error(`loopback witness refused a connection to ${host}`);
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  };
  return seen;
}

export function jsonBody(rec: Recorded): Record<string, unknown> {
  return (rec.json ?? {}) as Record<string, unknown>;
}
