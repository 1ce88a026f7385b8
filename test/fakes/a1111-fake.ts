/**
 * A fake AUTOMATIC1111 stable-diffusion-webui API (`--api`): a real node:http server on 127.0.0.1
 * (port 0) speaking modules/api's wire format and validating like FastAPI/pydantic does there:
 *
 *   POST /sdapi/v1/txt2img, /sdapi/v1/img2img
 *     - `--api-auth`: with credentials set, HTTP basic auth is required: no header → 401
 *       {detail: "Not authenticated"}, wrong → 401 {detail: "Incorrect username or password"}
 *       (both with WWW-Authenticate: Basic)
 *     - body must be JSON (else 422 value_error.jsondecode); every known field has its JSON type
 *       (int / float / str / bool / list / dict; else 422 with pydantic's `{loc, msg, type}` items);
 *       prompt, seed, width and height are required and unknown fields are refused ("extra fields
 *       not permitted") — stricter than the webui, so the adapter's body is pinned exactly
 *     - img2img: init_images missing → 404 {detail: "Init image not found"}; an entry that is not
 *       base64 of an image → 500 {error: "HTTPException", detail: "Invalid encoded image", …}
 *     → 200 {images: [base64 PNG], parameters, info: "<JSON string>"}
 *
 * Images are real PNGs (sharp) of width x height floored to multiples of 8, one flat colour from
 * the prompt, the seed and (img2img) the init image — see `fakeColour`. Every request is recorded;
 * faults can be scripted per route for the next N requests.
 *
 *   GET /sdapi/v1/options  the webui's settings, with `sd_model_checkpoint` = the loaded checkpoint's
 *                          title, as the webui gives it: "<file name> [<short hash>]"
 *   GET /internal/ping     {} (the webui's liveness route)
 *   GET /sdapi/v1/progress  (issue 22) modules/api/api.py progressapi: {progress, eta_relative, state:
 *                          {skipped, interrupted, stopping_generation, job, job_count, job_timestamp,
 *                          job_no, sampling_step, sampling_steps}, current_image, textinfo}. While a
 *                          generation runs (the oldest, when several do) job_count is 1 and
 *                          sampling_step climbs 0 → steps over the first 70% of `latencyMs`, then
 *                          stays at steps (decode and save); progress = min(1, 0.01 + step/steps) as
 *                          the webui computes it; current_image is a real PNG (base64) that changes
 *                          every quarter of the steps (null before the first quarter, or with
 *                          skip_current_image=true). Idle: job_count 0, progress 0, and the LAST
 *                          job's sampling_step / sampling_steps / job_timestamp still set, as the
 *                          webui's shared state keeps them.
 *   The txt2img / img2img answer's `info` carries seed, steps, sampler_name (default "Euler"),
 *   cfg_scale, sd_model_name (the checkpoint without extension) and sd_model_hash (its short hash).
 *
 * For pools (issue 19): `latencyMs` (each generation takes that long), `maxInFlight` (the most
 * generations at once), `loadedModel` / `modelLoads` (override_settings.sd_model_checkpoint other
 * than the loaded one is a load; unless override_settings_restore_afterwards is false the webui
 * switches back afterwards, another load), `failAll` (500 to everything), and `stop()` /
 * `restart()` (the server dies mid-request — sockets destroyed — and comes back on the same port).
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';

export type A1111Route = 'txt2img' | 'img2img' | 'options' | 'ping' | 'progress' | 'other';

export interface RecordedRequest {
  method: string;
  path: string;
  route: A1111Route;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json?: unknown;
}

export type A1111Fault =
  | { status: number; body?: string | Buffer; retryAfter?: string }
  /** Never answer. */
  | { hang: true }
  /** 200 with a body that is not JSON. */
  | { malformed: true }
  /** 200 whose images[0] is base64 of bytes that are not an image. */
  | { nonImage: true }
  /** 200 whose images[0] is not base64 at all. */
  | { notBase64: true }
  /** 200 with `images: []`. */
  | { noImages: true }
  /** A hostile or buggy server: `status` with a body echoing the Authorization header and the decoded credentials. */
  | { echoCredentials: number };

export interface A1111FakeOptions {
  /** `--api-auth user:pass`; null = no auth. */
  credentials?: { user: string; pass: string } | null;
  /** Each generation takes this long (default 0). */
  latencyMs?: number;
  /** The checkpoint loaded at start (default v1-5-pruned-emaonly.safetensors). */
  loadedModel?: string;
}

/** A generation the fake is running now (what /sdapi/v1/progress reports on). */
interface Running {
  route: A1111Route;
  startedAt: number;
  steps: number;
  timestamp: string;
  colour: { r: number; g: number; b: number };
  width: number;
  height: number;
  /** Preview PNGs (base64) by quarter, rendered once. */
  previews: Map<number, string>;
}

export interface Rendered {
  route: A1111Route;
  prompt: string;
  seed: number;
  width: number;
  height: number;
  checkpoint: string | null;
  denoisingStrength: number | null;
  initImage: { sha256: string; width: number; height: number } | null;
}

type FieldType = 'int' | 'float' | 'str' | 'bool' | 'list' | 'dict';

const COMMON: Record<string, FieldType> = {
  prompt: 'str',
  negative_prompt: 'str',
  styles: 'list',
  seed: 'int',
  subseed: 'int',
  subseed_strength: 'float',
  sampler_name: 'str',
  scheduler: 'str',
  batch_size: 'int',
  n_iter: 'int',
  steps: 'int',
  cfg_scale: 'float',
  width: 'int',
  height: 'int',
  restore_faces: 'bool',
  tiling: 'bool',
  override_settings: 'dict',
  override_settings_restore_afterwards: 'bool',
  send_images: 'bool',
  save_images: 'bool',
  denoising_strength: 'float',
};
const IMG2IMG: Record<string, FieldType> = { ...COMMON, init_images: 'list', resize_mode: 'int', mask: 'str', include_init_images: 'bool' };
const REQUIRED = ['prompt', 'seed', 'width', 'height'];

const MSG: Record<FieldType, [string, string]> = {
  int: ['value is not a valid integer', 'type_error.integer'],
  float: ['value is not a valid float', 'type_error.float'],
  str: ['str type expected', 'type_error.str'],
  bool: ['value could not be parsed to a boolean', 'type_error.bool'],
  list: ['value is not a valid list', 'type_error.list'],
  dict: ['value is not a valid dict', 'type_error.dict'],
};

/** The flat colour the fake paints for a prompt + seed (+ the init image's sha256 for img2img). */
export function fakeColour(prompt: string, seed: number, initImage: string | null = null): { r: number; g: number; b: number } {
  const h = crypto.createHash('sha256').update(`a1111\n${prompt}\n${seed}\n${initImage ?? ''}`).digest();
  return { r: h[0]!, g: h[1]!, b: h[2]! };
}

export class A1111Fake {
  readonly requests: RecordedRequest[] = [];
  readonly rendered: Rendered[] = [];
  credentials: { user: string; pass: string } | null;
  latencyMs: number;
  /** Answer 500 to every request. */
  failAll = false;
  inFlight = 0;
  maxInFlight = 0;
  loadedModel: string;
  modelLoads = 0;
  /** Generations answered 200. */
  generations = 0;
  private readonly initialModel: string;
  private readonly faults: { route: A1111Route; remaining: number; fault: A1111Fault }[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();
  private port = 0;
  private readonly running: Running[] = [];
  /** What the shared state keeps after a job (sampling_step / sampling_steps / job_timestamp). */
  private lastJob = { sampling_step: 0, sampling_steps: 0, job_timestamp: '0' };

  private constructor(
    private readonly server: http.Server,
    opts: A1111FakeOptions,
  ) {
    this.credentials = opts.credentials ?? null;
    this.latencyMs = opts.latencyMs ?? 0;
    this.initialModel = opts.loadedModel ?? 'v1-5-pruned-emaonly.safetensors';
    this.loadedModel = this.initialModel;
    server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
  }

  static async start(opts: A1111FakeOptions = {}): Promise<A1111Fake> {
    let fake!: A1111Fake;
    const server = http.createServer((req, res) => {
      fake.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' });
        res.end(`fake crashed: ${(e as Error).stack}`);
      });
    });
    fake = new A1111Fake(server, opts);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.port = (server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server dies: it stops listening and every open connection (requests mid-way included) is destroyed. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Back on the same port after stop(), with its start-up checkpoint loaded. */
  async restart(): Promise<void> {
    this.loadedModel = this.initialModel;
    this.inFlight = 0;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Zeroes the pool counters (generations, most in flight, model loads); the loaded model stays. */
  resetCounters(): void {
    this.generations = 0;
    this.maxInFlight = this.inFlight;
    this.modelLoads = 0;
  }

  failNext(route: A1111Route, times: number, fault: A1111Fault): void {
    this.faults.push({ route, remaining: times, fault });
  }

  reset(opts: A1111FakeOptions = {}): void {
    this.requests.length = 0;
    this.rendered.length = 0;
    this.faults.length = 0;
    this.credentials = opts.credentials ?? null;
    this.latencyMs = opts.latencyMs ?? 0;
    this.failAll = false;
    this.resetCounters();
  }

  to(route: A1111Route): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** GET /sdapi/v1/progress as progressapi answers it (see the header). */
  private async progress(skipImage: boolean): Promise<Record<string, unknown>> {
    const job = this.running[0];
    const base = { skipped: false, interrupted: false, stopping_generation: false, job_no: 0 };
    if (!job) return { progress: 0, eta_relative: 0, state: { ...base, job: '', job_count: 0, ...this.lastJob }, current_image: null, textinfo: null };
    const elapsed = Date.now() - job.startedAt;
    const t = this.latencyMs > 0 ? Math.min(1, elapsed / this.latencyMs) : 1;
    const step = Math.min(job.steps, Math.floor((t / 0.7) * job.steps));
    const progress = Math.min(1, 0.01 + step / job.steps);
    const quarter = Math.floor((4 * step) / job.steps);
    let image: string | null = null;
    if (!skipImage && quarter >= 1) {
      image = job.previews.get(quarter) ?? (await previewPng(job, quarter));
      job.previews.set(quarter, image);
    }
    return {
      progress,
      eta_relative: elapsed / 1000 / progress - elapsed / 1000,
      state: { ...base, job: `scripts_${job.route}`, job_count: 1, job_timestamp: job.timestamp, sampling_step: step, sampling_steps: job.steps },
      current_image: image,
      textinfo: null,
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const route: A1111Route =
      req.method === 'POST' && path === '/sdapi/v1/txt2img'
        ? 'txt2img'
        : req.method === 'POST' && path === '/sdapi/v1/img2img'
          ? 'img2img'
          : req.method === 'GET' && path === '/sdapi/v1/options'
            ? 'options'
            : req.method === 'GET' && path === '/internal/ping'
              ? 'ping'
              : req.method === 'GET' && path === '/sdapi/v1/progress'
                ? 'progress'
                : 'other';
    const rec: RecordedRequest = { method: req.method ?? '', path, route, headers: req.headers, body };
    try {
      rec.json = JSON.parse(body.toString('utf8'));
    } catch {
      // validated below
    }
    this.requests.push(rec);
    if (this.failAll) return json(res, 500, { error: 'RuntimeError', detail: '', body: '', errors: 'failAll' });
    if (route === 'other') return json(res, 404, { detail: 'Not Found' });
    if (route === 'ping') return json(res, 200, {});

    if (this.credentials) {
      const auth = req.headers.authorization ?? '';
      const m = /^Basic ([A-Za-z0-9+/=]+)$/.exec(auth);
      if (!m) return json(res, 401, { detail: 'Not authenticated' }, { 'www-authenticate': 'Basic' });
      const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon < 0 || decoded.slice(0, colon) !== this.credentials.user || decoded.slice(colon + 1) !== this.credentials.pass) {
        return json(res, 401, { detail: 'Incorrect username or password' }, { 'www-authenticate': 'Basic' });
      }
    }

    // The webui reports the checkpoint's title: its file name and short hash ("v1-5-pruned-emaonly.safetensors [6ce0161689]").
    if (route === 'options') return json(res, 200, { sd_model_checkpoint: checkpointTitle(this.loadedModel), sd_checkpoint_hash: null, samples_format: 'png', CLIP_stop_at_last_layers: 1, sd_vae: 'Automatic' });

    const f = this.faults.find((x) => x.remaining > 0 && x.route === route);
    if (!f && route === 'progress') return json(res, 200, await this.progress(new URL(req.url ?? '/', 'http://fake').searchParams.get('skip_current_image') === 'true'));
    if (f) {
      f.remaining--;
      const fault = f.fault;
      if ('hang' in fault) return;
      if ('status' in fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}) });
        return void res.end(fault.body ?? JSON.stringify({ error: 'OutOfMemoryError', detail: '', body: '', errors: `scripted ${fault.status}` }));
      }
      if ('malformed' in fault) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"images": ["iVBORw0KGgo');
      }
      if ('nonImage' in fault) return json(res, 200, { images: [Buffer.from('<html>definitely not a png</html>').toString('base64')], parameters: {}, info: '{}' });
      if ('notBase64' in fault) return json(res, 200, { images: ['this is *not* base64!'], parameters: {}, info: '{}' });
      if ('noImages' in fault) return json(res, 200, { images: [], parameters: {}, info: '{}' });
      if ('echoCredentials' in fault) {
        const auth = req.headers.authorization ?? '';
        const decoded = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString('utf8');
        const [user, pass] = [decoded.slice(0, decoded.indexOf(':')), decoded.slice(decoded.indexOf(':') + 1)];
        const echo = `header=${auth} decoded=${decoded} user=${user} pass=${pass}`;
        const payload = fault.echoCredentials === 422 ? { detail: [{ loc: ['body', 'prompt'], msg: echo, type: 'value_error' }] } : { detail: echo, error: echo, errors: echo };
        return json(res, fault.echoCredentials, payload);
      }
    }

    if (rec.json === undefined) {
      return json(res, 422, { detail: [{ loc: ['body', 0], msg: 'Expecting value: line 1 column 1 (char 0)', type: 'value_error.jsondecode', ctx: { msg: 'Expecting value', doc: body.toString('utf8').slice(0, 200), pos: 0, lineno: 1, colno: 1 } }] });
    }
    const data = rec.json;
    if (!isObject(data)) return json(res, 422, { detail: [{ loc: ['body'], msg: 'value is not a valid dict', type: 'type_error.dict' }] });
    const fields = route === 'img2img' ? IMG2IMG : COMMON;
    const errors: { loc: (string | number)[]; msg: string; type: string }[] = [];
    for (const name of REQUIRED) if (!(name in data)) errors.push({ loc: ['body', name], msg: 'field required', type: 'value_error.missing' });
    for (const [name, v] of Object.entries(data)) {
      const t = fields[name];
      if (!t) {
        errors.push({ loc: ['body', name], msg: 'extra fields not permitted', type: 'value_error.extra' });
        continue;
      }
      if (v === null) continue; // Optional[...] fields accept null
      const ok =
        t === 'int' ? Number.isInteger(v) :
        t === 'float' ? typeof v === 'number' && Number.isFinite(v) :
        t === 'str' ? typeof v === 'string' :
        t === 'bool' ? typeof v === 'boolean' :
        t === 'list' ? Array.isArray(v) :
        isObject(v);
      if (!ok) errors.push({ loc: ['body', name], msg: MSG[t][0], type: MSG[t][1] });
    }
    if (Array.isArray(data.init_images)) data.init_images.forEach((x, i) => typeof x !== 'string' && errors.push({ loc: ['body', 'init_images', i], msg: 'str type expected', type: 'type_error.str' }));
    if (errors.length > 0) return json(res, 422, { detail: errors });

    const width = Math.floor((data.width as number) / 8) * 8;
    const height = Math.floor((data.height as number) / 8) * 8;
    if (width < 64 || height < 64 || width > 4096 * 2 || height > 4096 * 2) return json(res, 500, { error: 'RuntimeError', detail: '', body: '', errors: `bad size ${width}x${height}` });

    let initImage: Rendered['initImage'] = null;
    if (route === 'img2img') {
      const list = data.init_images as unknown[] | undefined;
      if (!list || list.length === 0) return json(res, 404, { detail: 'Init image not found' });
      const b64 = String(list[0]).replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '');
      try {
        if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error('not base64');
        const bytes = Buffer.from(b64, 'base64');
        const meta = await sharp(bytes).metadata();
        await sharp(bytes).stats();
        initImage = { sha256: crypto.createHash('sha256').update(bytes).digest('hex'), width: meta.width!, height: meta.height! };
      } catch {
        return json(res, 500, { error: 'HTTPException', detail: 'Invalid encoded image', body: '', errors: '500: Invalid encoded image' });
      }
    }

    const checkpoint = isObject(data.override_settings) && typeof data.override_settings.sd_model_checkpoint === 'string' ? data.override_settings.sd_model_checkpoint.replace(/ \[[0-9a-f]+\]$/, '') : null;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const job: Running = {
      route,
      startedAt: Date.now(),
      steps: typeof data.steps === 'number' ? data.steps : 50,
      timestamp: new Date().toISOString().replace(/\D/g, '').slice(0, 14),
      colour: fakeColour(data.prompt as string, data.seed as number, initImage?.sha256 ?? null),
      width,
      height,
      previews: new Map(),
    };
    this.running.push(job);
    let usedModel = this.loadedModel;
    try {
      const before = this.loadedModel;
      if (checkpoint && checkpoint !== this.loadedModel) {
        this.loadedModel = checkpoint;
        this.modelLoads++;
      }
      usedModel = this.loadedModel;
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      // The webui restores its settings after the request unless told not to: switching back is another load.
      if (checkpoint && checkpoint !== before && data.override_settings_restore_afterwards !== false) {
        this.loadedModel = before;
        this.modelLoads++;
      }
    } finally {
      this.inFlight--;
      this.running.splice(this.running.indexOf(job), 1);
      this.lastJob = { sampling_step: job.steps, sampling_steps: job.steps, job_timestamp: job.timestamp };
    }
    if (req.socket.destroyed) return; // stopped mid-request: the socket is gone, nothing is delivered
    const r: Rendered = {
      route,
      prompt: data.prompt as string,
      seed: data.seed as number,
      width,
      height,
      checkpoint,
      denoisingStrength: typeof data.denoising_strength === 'number' ? data.denoising_strength : null,
      initImage,
    };
    this.rendered.push(r);
    const { r: red, g, b } = fakeColour(r.prompt, r.seed, initImage?.sha256 ?? null);
    const png = await sharp({ create: { width, height, channels: 3, background: { r: red, g, b } } }).png().toBuffer();
    const parameters = { ...data, ...(route === 'img2img' ? { init_images: null } : {}) };
    const info = JSON.stringify({
      prompt: r.prompt,
      all_prompts: [r.prompt],
      seed: r.seed,
      all_seeds: [r.seed],
      width,
      height,
      sampler_name: typeof data.sampler_name === 'string' ? data.sampler_name : 'Euler',
      cfg_scale: typeof data.cfg_scale === 'number' ? data.cfg_scale : 7,
      steps: job.steps,
      sd_model_name: usedModel.replace(/\.(safetensors|ckpt|pt)$/, ''),
      sd_model_hash: checkpointTitle(usedModel).slice(-11, -1),
      denoising_strength: r.denoisingStrength,
      job_timestamp: job.timestamp,
      version: 'v1.10.1',
    });
    this.generations++;
    return json(res, 200, { images: [png.toString('base64')], parameters, info });
  }
}

/** A small live preview: the result's colour as a gradient, as bright as the quarter of the steps reached. */
async function previewPng(job: Running, quarter: number): Promise<string> {
  const width = 64;
  const height = Math.max(8, Math.min(128, Math.round((width * job.height) / Math.max(1, job.width))));
  const level = Math.min(1, quarter / 4);
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = level * (0.4 + (0.6 * y) / (height - 1));
      raw.set([Math.round(job.colour.r * k), Math.round(job.colour.g * k), Math.round(job.colour.b * k)], (y * width + x) * 3);
    }
  }
  return (await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer()).toString('base64');
}

/** A checkpoint's title as the webui shows it: the file name and the first 10 hex digits of its hash. */
export function checkpointTitle(name: string): string {
  return `${name} [${crypto.createHash('sha256').update(name).digest('hex').slice(0, 10)}]`;
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
