/**
 * A fake ComfyUI server: a real node:http server on 127.0.0.1 (port 0) that speaks ComfyUI's wire
 * format (server.py / execution.py) and validates what it is sent the way ComfyUI does:
 *
 *   POST /prompt        {prompt, client_id}: every node has a string class_type (known to the fake)
 *                       and an inputs object; required inputs present; links are [node_id, index] to
 *                       an existing node whose output at that index has the right type; INT / FLOAT /
 *                       STRING literals have that JSON type and are within ComfyUI's min/max; list
 *                       inputs (ckpt_name, sampler_name, …) are in the list; LoadImage names an uploaded
 *                       file; an output node (SaveImage) exists. Failures answer 400 with ComfyUI's
 *                       `{error: {type, message, details, extra_info}, node_errors}` shape.
 *   GET /history/{id}   {} for the first `pollsBeforeDone` polls, then the history entry with
 *                       outputs + status (or an execution_error / interrupted status).
 *   GET /view           filename / subfolder / type → the saved PNG.
 *   POST /upload/image  multipart `image` (must decode as an image) → {name, subfolder, type}.
 *   POST /queue         {delete: [ids]} recorded.
 *   GET /system_stats   {system, devices} as ComfyUI answers it (a health probe).
 *   GET /queue          {queue_running, queue_pending}: the prompts not yet done, in ComfyUI's shape.
 *
 * For pools (issue 19): `latencyMs` (a prompt is done that long after it was queued, on top of
 * `pollsBeforeDone`), `maxInFlight` (the most prompts queued and not yet done at once — a prompt is
 * in flight from POST /prompt until /history first reports it done, or it is deleted),
 * `loadedModel` / `modelLoads` (a prompt whose CheckpointLoaderSimple ckpt_name differs from the
 * last one run loads a model), `failAll` (500 to every request), and `stop()` / `restart()` (the
 * server dies mid-request — sockets destroyed — and comes back on the same port, empty).
 *
 * Images are real PNGs rendered with sharp at the size the graph asks for (EmptyLatentImage or
 * ImageScale, floored to a multiple of 8 like a latent), one flat colour derived from the positive
 * prompt, the seed and (img2img) the input image — see `fakeColour`.
 *
 * Every request is recorded; faults can be scripted per route for the next N requests.
 *
 * WebSocket (issue 22; comfyui-fake-ws.ts): `GET /ws?clientId=` as ComfyUI serves it. While a
 * prompt "runs" its client id gets, spread over `latencyMs` (all at once when it is 0): a status
 * broadcast, execution_start, execution_cached, executing (the loader, then the KSampler), one
 * `progress` {value 1…steps, max: steps} per step of the graph's KSampler with a preview frame
 * (a small JPEG or PNG gradient as bright as the step is far) every quarter of the steps and at
 * the last one, executing (decode, save), executed, execution_success, then `executing` {node:
 * null} — the history entry is available from then on (never before), as in ComfyUI, where
 * task_done writes the history before that last message. Failed outcomes send execution_error /
 * execution_interrupted instead. `websocket: false` refuses the upgrade; `ws.open` counts the
 * sockets open now.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { FakeComfySockets } from './comfyui-fake-ws.js';

export interface RecordedRequest {
  method: string;
  path: string;
  route: ComfyRoute;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json?: unknown;
}

export type ComfyRoute = 'prompt' | 'history' | 'view' | 'upload' | 'queue' | 'system_stats' | 'queue_status' | 'other';

export type ComfyFault =
  | { status: number; body?: string | Buffer; retryAfter?: string }
  /** Never answer (the socket stays open until the fake closes). */
  | { hang: true }
  /** 200 with a body that is not JSON. */
  | { malformed: true }
  /** 200 image/png whose bytes are not an image (meant for /view). */
  | { nonImage: true }
  /** /prompt: 400 with node_errors, exactly as a real validation failure looks. */
  | { nodeErrors: true }
  /** /history/{id}: 200 `{<id>: entry}` with this entry. */
  | { historyEntry: unknown };

export type PromptOutcome = 'success' | 'execution_error' | 'oom' | 'interrupted' | 'never';

export interface ComfyFakeOptions {
  /** /history answers {} this many times for each prompt before it is done (default 2). */
  pollsBeforeDone?: number;
  checkpoints?: string[];
  /** When set, every request needs `Authorization: Bearer <token>` (as an auth proxy would), else 401. */
  token?: string | null;
  /** A prompt is done no sooner than this long after it was queued (default 0). */
  latencyMs?: number;
  /** Serve the WebSocket at /ws (default true). */
  websocket?: boolean;
}

export interface FakePrompt {
  id: string;
  number: number;
  clientId: unknown;
  workflow: Record<string, { class_type: string; inputs: Record<string, unknown> }>;
  outcome: PromptOutcome;
  polls: number;
  queuedAt: number;
  /** Counted in `inFlight` until /history first reports it done (or it is deleted). */
  inFlight: boolean;
  /** The run finished (its WebSocket script ended with `executing` null): /history may show it. */
  played: boolean;
  /** What the graph evaluated to: positive prompt text, seed, output size, denoise, input image. */
  render: GraphRender;
  image?: { filename: string; bytes: Buffer };
}

export interface GraphRender {
  saveNode: string;
  prompt: string;
  negative: string;
  seed: number;
  width: number;
  height: number;
  denoise: number;
  checkpoint: string;
  inputImage: string | null;
  /** The KSampler's node id and steps (its `progress` messages count to these). */
  samplerNode: string;
  steps: number;
}

const SAMPLERS = ['euler', 'euler_ancestral', 'heun', 'dpm_2', 'dpmpp_2m', 'dpmpp_sde', 'ddim', 'uni_pc'];
const SCHEDULERS = ['normal', 'karras', 'exponential', 'sgm_uniform', 'simple', 'ddim_uniform'];

type Spec =
  | { link: string }
  | { int: [number, number] }
  | { float: [number, number] }
  | { string: true }
  | { list: (fake: ComfyUIFake) => string[] };

interface NodeDef {
  required: Record<string, Spec>;
  outputs: string[];
  outputNode?: boolean;
}

const U64 = Number.MAX_SAFE_INTEGER; // ComfyUI's max is 0xffffffffffffffff; JSON numbers stop being exact here.

const NODES: Record<string, NodeDef> = {
  CheckpointLoaderSimple: { required: { ckpt_name: { list: (f) => f.checkpoints } }, outputs: ['MODEL', 'CLIP', 'VAE'] },
  CLIPTextEncode: { required: { text: { string: true }, clip: { link: 'CLIP' } }, outputs: ['CONDITIONING'] },
  EmptyLatentImage: { required: { width: { int: [16, 16384] }, height: { int: [16, 16384] }, batch_size: { int: [1, 4096] } }, outputs: ['LATENT'] },
  KSampler: {
    required: {
      model: { link: 'MODEL' },
      seed: { int: [0, U64] },
      steps: { int: [1, 10000] },
      cfg: { float: [0, 100] },
      sampler_name: { list: () => SAMPLERS },
      scheduler: { list: () => SCHEDULERS },
      positive: { link: 'CONDITIONING' },
      negative: { link: 'CONDITIONING' },
      latent_image: { link: 'LATENT' },
      denoise: { float: [0, 1] },
    },
    outputs: ['LATENT'],
  },
  VAEDecode: { required: { samples: { link: 'LATENT' }, vae: { link: 'VAE' } }, outputs: ['IMAGE'] },
  VAEEncode: { required: { pixels: { link: 'IMAGE' }, vae: { link: 'VAE' } }, outputs: ['LATENT'] },
  SaveImage: { required: { images: { link: 'IMAGE' }, filename_prefix: { string: true } }, outputs: [], outputNode: true },
  PreviewImage: { required: { images: { link: 'IMAGE' } }, outputs: [], outputNode: true },
  LoadImage: { required: { image: { list: (f) => [...f.uploads.keys()] } }, outputs: ['IMAGE', 'MASK'] },
  ImageScale: {
    required: {
      image: { link: 'IMAGE' },
      upscale_method: { list: () => ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'] },
      width: { int: [0, 16384] },
      height: { int: [0, 16384] },
      crop: { list: () => ['disabled', 'center'] },
    },
    outputs: ['IMAGE'],
  },
};

/** The flat colour the fake paints for a prompt + seed (+ input image hash for img2img). */
export function fakeColour(prompt: string, seed: number, inputImage: string | null = null): { r: number; g: number; b: number } {
  const h = crypto.createHash('sha256').update(`${prompt}\n${seed}\n${inputImage ?? ''}`).digest();
  return { r: h[0]!, g: h[1]!, b: h[2]! };
}

export class ComfyUIFake {
  readonly requests: RecordedRequest[] = [];
  readonly prompts = new Map<string, FakePrompt>();
  /** Uploaded inputs by LoadImage name (`subfolder/name`), with their decoded size and hash. */
  readonly uploads = new Map<string, { bytes: Buffer; width: number; height: number; sha256: string }>();
  /** Prompt ids a client asked to delete from the queue (POST /queue {delete}). */
  readonly deleted: string[] = [];
  /** Outcome given to prompts submitted from now on. */
  outcome: PromptOutcome = 'success';
  pollsBeforeDone: number;
  /** Answer history entries without `status`, like ComfyUI before it had the field. */
  legacyHistory = false;
  checkpoints: string[];
  token: string | null;
  latencyMs: number;
  /** Answer 500 to every request (a backend that is up but broken). */
  failAll = false;
  /** Prompts queued and not yet done now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** The checkpoint the last prompt ran (null before the first), and how many times it changed. */
  loadedModel: string | null = null;
  modelLoads = 0;
  /** Prompts accepted by POST /prompt (each one is a generation the backend ran or would run). */
  generations = 0;
  /** The WebSocket endpoint: `ws.enabled`, `ws.open`, `ws.connections`, `ws.clientIds`, `ws.dropAll()`. */
  readonly ws: FakeComfySockets;
  private readonly sockets = new Set<import('node:net').Socket>();
  private port = 0;
  private readonly faults: { route: ComfyRoute; remaining: number; fault: ComfyFault }[] = [];
  private readonly outputs = new Map<string, Buffer>();
  private number = 0;
  private saved = 0;

  private constructor(
    private readonly server: http.Server,
    opts: ComfyFakeOptions,
  ) {
    this.pollsBeforeDone = opts.pollsBeforeDone ?? 2;
    this.checkpoints = opts.checkpoints ?? ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'];
    this.token = opts.token ?? null;
    this.latencyMs = opts.latencyMs ?? 0;
    this.ws = new FakeComfySockets(
      (req) => (this.token !== null && req.headers.authorization !== `Bearer ${this.token}` ? 401 : null),
      () => this.inFlight,
    );
    this.ws.enabled = opts.websocket ?? true;
    this.ws.attach(server);
    server.on('connection', (sock) => {
      this.sockets.add(sock);
      sock.once('close', () => this.sockets.delete(sock));
    });
  }

  static async start(opts: ComfyFakeOptions = {}): Promise<ComfyUIFake> {
    let fake!: ComfyUIFake;
    const server = http.createServer((req, res) => {
      fake.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`fake crashed: ${(e as Error).stack}`);
      });
    });
    fake = new ComfyUIFake(server, opts);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    fake.port = (server.address() as AddressInfo).port;
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The server dies: it stops listening and every open connection (requests mid-way included) is destroyed. Its prompts are lost. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
    this.prompts.clear();
    this.inFlight = 0;
  }

  /** Back on the same port after stop(), with nothing loaded (like a restarted ComfyUI). */
  async restart(): Promise<void> {
    this.loadedModel = null;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** The next `times` requests to `route` get `fault` instead of the normal answer. */
  failNext(route: ComfyRoute, times: number, fault: ComfyFault): void {
    this.faults.push({ route, remaining: times, fault });
  }

  /** Forgets recorded requests and scripted faults and restores the default behaviour (prompts and uploads stay). */
  reset(opts: ComfyFakeOptions = {}): void {
    this.requests.length = 0;
    this.deleted.length = 0;
    this.faults.length = 0;
    this.outcome = 'success';
    this.legacyHistory = false;
    this.pollsBeforeDone = opts.pollsBeforeDone ?? 2;
    this.token = opts.token ?? null;
    this.latencyMs = opts.latencyMs ?? 0;
    this.ws.enabled = opts.websocket ?? true;
    this.ws.resetCounts();
    this.failAll = false;
    this.resetCounters();
  }

  /** Zeroes the pool counters (generations, most in flight, model loads); the loaded model stays. */
  resetCounters(): void {
    this.generations = 0;
    this.maxInFlight = this.inFlight;
    this.modelLoads = 0;
  }

  to(route: ComfyRoute): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  async close(): Promise<void> {
    this.ws.close();
    if (!this.server.listening) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = await readBody(req);
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname.replace(/^\/api(?=\/)/, ''); // ComfyUI serves every route under /api too
    const route: ComfyRoute =
      req.method === 'POST' && path === '/prompt'
        ? 'prompt'
        : req.method === 'GET' && path.startsWith('/history/')
          ? 'history'
          : req.method === 'GET' && path === '/view'
            ? 'view'
            : req.method === 'POST' && path === '/upload/image'
              ? 'upload'
              : req.method === 'POST' && path === '/queue'
                ? 'queue'
                : req.method === 'GET' && path === '/system_stats'
                  ? 'system_stats'
                  : req.method === 'GET' && path === '/queue'
                    ? 'queue_status'
                    : 'other';
    const rec: RecordedRequest = { method: req.method ?? '', path, route, query: Object.fromEntries(u.searchParams), headers: req.headers, body };
    if ((req.headers['content-type'] ?? '').startsWith('application/json')) {
      try {
        rec.json = JSON.parse(body.toString('utf8'));
      } catch {
        // left undefined; the route answers
      }
    }
    this.requests.push(rec);

    if (this.token !== null && req.headers.authorization !== `Bearer ${this.token}`) return text(res, 401, '401: Unauthorized');
    if (this.failAll) return text(res, 500, '500 Internal Server Error');

    const f = this.faults.find((x) => x.remaining > 0 && x.route === route);
    if (f) {
      f.remaining--;
      const fault = f.fault;
      if ('hang' in fault) return; // never answered
      if ('status' in fault) {
        res.writeHead(fault.status, { 'content-type': 'application/json', ...(fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}) });
        return void res.end(fault.body ?? JSON.stringify({ error: `scripted ${fault.status}` }));
      }
      if ('malformed' in fault) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"prompt_id": "abc", "outputs": {');
      }
      if ('nonImage' in fault) {
        res.writeHead(200, { 'content-type': 'image/png' });
        return void res.end('<!doctype html><title>not an image</title>');
      }
      if ('historyEntry' in fault) return json(res, 200, { [decodeURIComponent(path.slice('/history/'.length))]: fault.historyEntry });
      if ('nodeErrors' in fault) return json(res, 400, invalid('prompt_outputs_failed_validation', 'Prompt outputs failed validation', "Value not in list: ckpt_name: 'missing.safetensors' not in (list of length 2)", CKPT_NODE_ERRORS));
    }

    switch (route) {
      case 'prompt':
        return this.postPrompt(rec, res);
      case 'history':
        return this.getHistory(decodeURIComponent(path.slice('/history/'.length)), res);
      case 'view':
        return this.getView(rec, res);
      case 'upload':
        return this.upload(rec, res);
      case 'queue': {
        const del = (rec.json as { delete?: unknown } | undefined)?.delete;
        if (Array.isArray(del)) for (const id of del) if (typeof id === 'string') this.deleted.push(id);
        if (Array.isArray(del)) for (const id of del) if (typeof id === 'string') this.settle(this.prompts.get(id));
        res.writeHead(200);
        return void res.end();
      }
      case 'system_stats':
        return json(res, 200, {
          system: { os: 'posix', ram_total: 68_719_476_736, ram_free: 34_359_738_368, comfyui_version: '0.3.40', python_version: '3.12.3', pytorch_version: '2.7.0+cu128', embedded_python: false, argv: ['main.py', '--listen'] },
          devices: [{ name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync', type: 'cuda', index: 0, vram_total: 25_757_220_864, vram_free: 20_000_000_000, torch_vram_total: 0, torch_vram_free: 0 }],
        });
      case 'queue_status': {
        const entry = (p: FakePrompt) => [p.number, p.id, p.workflow, { client_id: p.clientId }, [p.render.saveNode]];
        const waiting = [...this.prompts.values()].filter((p) => p.inFlight).sort((a, b) => a.number - b.number);
        return json(res, 200, { queue_running: waiting.slice(0, 1).map(entry), queue_pending: waiting.slice(1).map(entry) });
      }
      default:
        return text(res, 404, '404: Not Found');
    }
  }

  private postPrompt(rec: RecordedRequest, res: http.ServerResponse): void {
    const data = rec.json;
    if (!isObject(data)) return json(res, 400, invalid('invalid_prompt', 'Invalid prompt', 'request body is not a JSON object', {}));
    if (!('prompt' in data)) return json(res, 400, invalid('no_prompt', 'No prompt provided', 'No prompt provided', {}));
    const prompt = data.prompt;
    if (!isObject(prompt)) return json(res, 400, invalid('invalid_prompt', 'Invalid prompt', 'prompt must be an object of nodes', {}));
    for (const [id, node] of Object.entries(prompt)) {
      if (!isObject(node) || typeof node.class_type !== 'string') {
        return json(res, 400, invalid('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`, {}));
      }
      if (!NODES[node.class_type]) {
        return json(res, 400, invalid('missing_node_type', `Node '${node.class_type}' not found. The custom node may not be installed.`, `Node ID '#${id}'`, {}));
      }
      if (!isObject(node.inputs)) return json(res, 400, invalid('invalid_prompt', 'Cannot execute because a node has no inputs object.', `Node ID '#${id}'`, {}));
    }
    const wf = prompt as FakePrompt['workflow'];
    const outputs = Object.keys(wf).filter((id) => NODES[wf[id]!.class_type]!.outputNode);
    if (outputs.length === 0) return json(res, 400, invalid('prompt_no_outputs', 'Prompt has no outputs', '', {}));

    const nodeErrors: Record<string, { errors: Reason[]; dependent_outputs: string[]; class_type: string }> = {};
    for (const [id, node] of Object.entries(wf)) {
      const reasons = this.validateNode(wf, node);
      if (reasons.length > 0) nodeErrors[id] = { errors: reasons, dependent_outputs: outputs, class_type: node.class_type };
    }
    if (Object.keys(nodeErrors).length > 0) {
      const details = Object.values(nodeErrors).flatMap((n) => n.errors.map((r) => `${r.message}: ${r.details}`)).join('\n');
      return json(res, 400, invalid('prompt_outputs_failed_validation', 'Prompt outputs failed validation', details, nodeErrors));
    }

    let render: GraphRender;
    try {
      render = this.evaluate(wf, outputs[0]!);
    } catch (e) {
      return json(res, 400, invalid('invalid_prompt', 'Graph the fake cannot evaluate', (e as Error).message, {}));
    }
    const id = crypto.randomUUID();
    const number = this.number++;
    const queued: FakePrompt = { id, number, clientId: data.client_id, workflow: wf, outcome: this.outcome, polls: 0, queuedAt: Date.now(), inFlight: true, played: false, render };
    this.prompts.set(id, queued);
    this.generations++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    if (render.checkpoint && render.checkpoint !== this.loadedModel) {
      this.loadedModel = render.checkpoint;
      this.modelLoads++;
    }
    // Started before the answer is written: an idle ComfyUI may say execution_start before the client has the id.
    void this.play(queued).catch(() => {});
    return json(res, 200, { prompt_id: id, number, node_errors: {} });
  }

  /** A prompt stops counting as in flight (done, failed or deleted). */
  private settle(p: FakePrompt | undefined): void {
    if (!p || !p.inFlight) return;
    p.inFlight = false;
    this.inFlight--;
  }

  private validateNode(wf: FakePrompt['workflow'], node: FakePrompt['workflow'][string]): Reason[] {
    const def = NODES[node.class_type]!;
    const reasons: Reason[] = [];
    for (const [name, spec] of Object.entries(def.required)) {
      const v = node.inputs[name];
      const info = { input_name: name };
      if (v === undefined) {
        reasons.push({ type: 'required_input_missing', message: 'Required input is missing', details: name, extra_info: info });
        continue;
      }
      if ('link' in spec) {
        if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || !Number.isInteger(v[1])) {
          reasons.push({ type: 'bad_linked_input', message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]', details: name, extra_info: { ...info, received_value: v } });
          continue;
        }
        const src = wf[v[0] as string];
        if (!src) {
          reasons.push({ type: 'bad_linked_input', message: 'Linked node does not exist', details: `${name}: node ${String(v[0])}`, extra_info: { ...info, linked_node: v } });
          continue;
        }
        const got = NODES[src.class_type]?.outputs[v[1] as number];
        if (got !== spec.link) {
          reasons.push({ type: 'return_type_mismatch', message: 'Return type mismatch between linked nodes', details: `${name}, received_type(${got ?? 'none'}) mismatch input_type(${spec.link})`, extra_info: { ...info, linked_node: v } });
        }
        continue;
      }
      if (Array.isArray(v)) {
        reasons.push({ type: 'invalid_input_type', message: 'Expected a value, got a link', details: name, extra_info: info });
        continue;
      }
      if ('int' in spec || 'float' in spec) {
        const isInt = 'int' in spec;
        const ok = typeof v === 'number' && Number.isFinite(v) && (!isInt || Number.isInteger(v));
        if (!ok) {
          reasons.push({ type: 'invalid_input_type', message: `Failed to convert an input value to a ${isInt ? 'INT' : 'FLOAT'} value`, details: `${name}, ${JSON.stringify(v)}`, extra_info: { ...info, received_value: v } });
          continue;
        }
        const [min, max] = isInt ? spec.int : spec.float;
        if ((v as number) < min) reasons.push({ type: 'value_smaller_than_min', message: `Value ${v} smaller than min of ${min}`, details: name, extra_info: info });
        if ((v as number) > max) reasons.push({ type: 'value_bigger_than_max', message: `Value ${v} bigger than max of ${max}`, details: name, extra_info: info });
        continue;
      }
      if ('string' in spec) {
        if (typeof v !== 'string') reasons.push({ type: 'invalid_input_type', message: 'Failed to convert an input value to a STRING value', details: `${name}, ${JSON.stringify(v)}`, extra_info: info });
        continue;
      }
      const list = spec.list(this);
      const key = typeof v === 'string' ? v.replace(/ \[input\]$/, '') : v;
      if (typeof key !== 'string' || !list.includes(key)) {
        const listInfo = list.length > 20 ? `(list of length ${list.length})` : JSON.stringify(list);
        reasons.push({ type: 'value_not_in_list', message: 'Value not in list', details: `${name}: '${String(v)}' not in ${listInfo}`, extra_info: { ...info, received_value: v } });
      }
    }
    return reasons;
  }

  /** Follows the graph from the output node to find what would be drawn. */
  private evaluate(wf: FakePrompt['workflow'], saveNode: string): GraphRender {
    const r: GraphRender = { saveNode, prompt: '', negative: '', seed: 0, width: 0, height: 0, denoise: 1, checkpoint: '', inputImage: null, samplerNode: '', steps: 0 };
    const node = (link: unknown) => {
      const n = wf[(link as [string, number])[0]];
      if (!n) throw new Error(`dangling link ${JSON.stringify(link)}`);
      return n;
    };
    const text = (link: unknown) => String(node(link).inputs.text ?? '');
    const image = (link: unknown): { w: number; h: number } => {
      const n = node(link);
      if (n.class_type === 'VAEDecode') return latent(n.inputs.samples);
      if (n.class_type === 'LoadImage') {
        const up = this.uploads.get(String(n.inputs.image).replace(/ \[input\]$/, ''))!;
        r.inputImage = up.sha256;
        return { w: up.width, h: up.height };
      }
      if (n.class_type === 'ImageScale') {
        const src = image(n.inputs.image);
        return { w: (n.inputs.width as number) || src.w, h: (n.inputs.height as number) || src.h };
      }
      throw new Error(`${n.class_type} does not produce an IMAGE the fake understands`);
    };
    const latent = (link: unknown): { w: number; h: number } => {
      const n = node(link);
      const floor8 = (x: { w: number; h: number }) => ({ w: Math.floor(x.w / 8) * 8, h: Math.floor(x.h / 8) * 8 });
      if (n.class_type === 'EmptyLatentImage') return floor8({ w: n.inputs.width as number, h: n.inputs.height as number });
      if (n.class_type === 'VAEEncode') return floor8(image(n.inputs.pixels));
      if (n.class_type === 'KSampler') {
        r.seed = n.inputs.seed as number;
        r.samplerNode = (link as [string, number])[0];
        r.steps = n.inputs.steps as number;
        r.denoise = n.inputs.denoise as number;
        r.prompt = text(n.inputs.positive);
        r.negative = text(n.inputs.negative);
        const model = node(n.inputs.model);
        r.checkpoint = String(model.inputs.ckpt_name ?? '');
        return latent(n.inputs.latent_image);
      }
      throw new Error(`${n.class_type} does not produce a LATENT the fake understands`);
    };
    const size = image(wf[saveNode]!.inputs.images);
    r.width = size.w;
    r.height = size.h;
    return r;
  }

  private async getHistory(id: string, res: http.ServerResponse): Promise<void> {
    const p = this.prompts.get(id);
    if (!p) return json(res, 200, {});
    p.polls++;
    if (p.outcome === 'never' || !p.played || p.polls <= this.pollsBeforeDone || Date.now() - p.queuedAt < this.latencyMs) return json(res, 200, {});
    this.settle(p);
    const ts = Date.now();
    const start: [string, unknown] = ['execution_start', { prompt_id: id, timestamp: ts }];
    const cached: [string, unknown] = ['execution_cached', { nodes: [], prompt_id: id, timestamp: ts }];
    const entry: Record<string, unknown> = {
      prompt: [p.number, id, p.workflow, { client_id: p.clientId }, [p.render.saveNode]],
      outputs: {},
      meta: {},
    };
    if (p.outcome === 'success') {
      const image = await this.saveImage(p);
      entry.outputs = { [p.render.saveNode]: { images: [{ filename: image.filename, subfolder: '', type: 'output' }] } };
      entry.meta = { [p.render.saveNode]: { node_id: p.render.saveNode, display_node: p.render.saveNode, parent_node: null, real_node_id: p.render.saveNode } };
      entry.status = { status_str: 'success', completed: true, messages: [start, cached, ['execution_success', { prompt_id: id, timestamp: ts }]] };
    } else if (p.outcome === 'interrupted') {
      entry.status = { status_str: 'error', completed: false, messages: [start, cached, ['execution_interrupted', { prompt_id: id, node_id: '3', node_type: 'KSampler', executed: ['4', '5', '6', '7'], timestamp: ts }]] };
    } else {
      entry.status = { status_str: 'error', completed: false, messages: [start, cached, ['execution_error', executionError(p, ts)]] };
    }
    if (this.legacyHistory) delete entry.status;
    return json(res, 200, { [id]: entry });
  }

  /** The SaveImage output of a successful prompt, rendered once. */
  private async saveImage(p: FakePrompt): Promise<{ filename: string; bytes: Buffer }> {
    if (!p.image) {
      const filename = `easel_${String(++this.saved).padStart(5, '0')}_.png`;
      const { r, g, b } = fakeColour(p.render.prompt, p.render.seed, p.render.inputImage);
      const bytes = await sharp({ create: { width: p.render.width, height: p.render.height, channels: 3, background: { r, g, b } } }).png().toBuffer();
      this.outputs.set(`output//${filename}`, bytes);
      p.image ??= { filename, bytes };
    }
    return p.image;
  }

  /**
   * What a running prompt tells its client over the WebSocket (see the header), spread over
   * latencyMs; with latencyMs 0 it runs without waiting (previews aside), so history-only callers
   * see no delay. Ends by marking the prompt played (its history may show from then on).
   */
  private async play(p: FakePrompt): Promise<void> {
    const sid = typeof p.clientId === 'string' ? p.clientId : null;
    const live = () => this.prompts.get(p.id) === p && !this.deleted.includes(p.id);
    const at = async (fraction: number) => {
      const wait = p.queuedAt + fraction * this.latencyMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return live();
    };
    const send = (type: string, data: Record<string, unknown>) => sid !== null && this.ws.sendJson(sid, type, { ...data, prompt_id: p.id });
    const { render } = p;
    this.ws.sendJson(null, 'status', { status: { exec_info: { queue_remaining: this.inFlight } } });
    if (p.outcome === 'never' || !(await at(0.05))) return; // stays queued
    send('execution_start', { timestamp: Date.now() });
    send('execution_cached', { nodes: [], timestamp: Date.now() });
    const loader = Object.keys(p.workflow).find((id) => p.workflow[id]!.class_type === 'CheckpointLoaderSimple');
    if (loader) send('executing', { node: loader, display_node: loader });
    if (!(await at(0.1))) return;
    send('executing', { node: render.samplerNode, display_node: render.samplerNode });
    if (p.outcome === 'success') {
      const every = Math.max(1, Math.ceil(render.steps / 4));
      for (let v = 1, frame = 0; v <= render.steps; v++) {
        if (!(await at(0.1 + (0.8 * v) / render.steps))) return;
        send('progress', { value: v, max: render.steps, node: render.samplerNode });
        if (sid !== null && this.ws.hasClient(sid) && (v % every === 0 || v === render.steps)) {
          const type = frame++ % 2 === 0 ? 1 : 2;
          this.ws.sendPreview(sid, type, await previewFrame(render, v, type));
        }
      }
      if (!(await at(0.95))) return;
      const decode = (p.workflow[render.saveNode]?.inputs.images as [string, number] | undefined)?.[0];
      if (decode) send('executing', { node: decode, display_node: decode });
      send('executing', { node: render.saveNode, display_node: render.saveNode });
      if (!(await at(1))) return;
      // Rendered here only for a listening client (`executed` names the file); else /history renders it, as before.
      if (sid !== null && this.ws.hasClient(sid)) {
        const image = await this.saveImage(p);
        send('executed', { node: render.saveNode, display_node: render.saveNode, output: { images: [{ filename: image.filename, subfolder: '', type: 'output' }] } });
      }
      send('execution_success', { timestamp: Date.now() });
    } else {
      if (!(await at(1))) return;
      if (p.outcome === 'interrupted') send('execution_interrupted', { node_id: render.samplerNode, node_type: 'KSampler', executed: [], timestamp: Date.now() });
      else send('execution_error', executionError(p, Date.now()));
    }
    p.played = true;
    send('executing', { node: null });
    this.ws.sendJson(null, 'status', { status: { exec_info: { queue_remaining: Math.max(0, this.inFlight - 1) } } });
  }

  private getView(rec: RecordedRequest, res: http.ServerResponse): void {
    const { filename, subfolder = '', type = 'output' } = rec.query;
    if (!filename) return text(res, 404, '404: Not Found');
    if (filename.startsWith('/') || filename.includes('..') || subfolder.includes('..')) return text(res, 400, '400: Bad Request');
    if (!['input', 'output', 'temp'].includes(type)) return text(res, 400, '400: Bad Request');
    const bytes = this.outputs.get(`${type}/${subfolder}/${filename}`);
    if (!bytes) return text(res, 404, '404: Not Found');
    res.writeHead(200, { 'content-type': 'image/png', 'content-disposition': `filename="${filename}"` });
    res.end(bytes);
  }

  private async upload(rec: RecordedRequest, res: http.ServerResponse): Promise<void> {
    const parts = parseMultipart(rec.body, String(rec.headers['content-type'] ?? ''));
    if (!parts) return text(res, 400, '400: Bad Request');
    const image = parts.find((p) => p.name === 'image');
    if (!image || !image.filename) return text(res, 400, '400: Bad Request');
    const field = (n: string) => parts.find((p) => p.name === n)?.data.toString('utf8');
    const type = field('type') || 'input';
    const subfolder = field('subfolder') ?? '';
    if (!['input', 'temp', 'output'].includes(type) || subfolder.includes('..') || image.filename.includes('/') || image.filename.includes('..')) return text(res, 400, '400: Bad Request');
    let meta;
    try {
      meta = await sharp(image.data).metadata();
      await sharp(image.data).stats();
    } catch {
      return text(res, 400, '400: uploaded file is not an image');
    }
    let name = image.filename;
    const key = (n: string) => `${subfolder ? `${subfolder}/` : ''}${n}`;
    const overwrite = field('overwrite') === 'true' || field('overwrite') === '1';
    if (!overwrite) {
      const [stem, ext] = splitExt(name);
      for (let i = 1; this.uploads.has(key(name)) && !this.uploads.get(key(name))!.bytes.equals(image.data); i++) name = `${stem} (${i})${ext}`;
    }
    const sha256 = crypto.createHash('sha256').update(image.data).digest('hex');
    this.uploads.set(key(name), { bytes: image.data, width: meta.width!, height: meta.height!, sha256 });
    return json(res, 200, { name, subfolder, type });
  }
}

interface Reason {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

const CKPT_NODE_ERRORS = {
  '4': {
    errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'missing.safetensors' not in (list of length 2)", extra_info: { input_name: 'ckpt_name' } }],
    dependent_outputs: ['9'],
    class_type: 'CheckpointLoaderSimple',
  },
};

function executionError(p: FakePrompt, ts: number): Record<string, unknown> {
  const oom = p.outcome === 'oom';
  return {
    prompt_id: p.id,
    node_id: '3',
    node_type: 'KSampler',
    executed: ['4', '5', '6', '7'],
    exception_message: oom ? 'Allocation on device 0 would exceed allowed memory. (out of memory)' : 'mat1 and mat2 shapes cannot be multiplied (154x2048 and 768x320)',
    exception_type: oom ? 'torch.OutOfMemoryError' : 'RuntimeError',
    traceback: ['  File "execution.py", line 323, in execute\n'],
    current_inputs: {},
    current_outputs: {},
    timestamp: ts,
  };
}

/** A small latent preview: the result's colour as a left-to-right gradient, as bright as the step is far (JPEG for type 1, PNG for 2). */
async function previewFrame(render: GraphRender, step: number, type: 1 | 2): Promise<Buffer> {
  const width = 64;
  const height = Math.max(8, Math.min(128, Math.round((width * render.height) / Math.max(1, render.width))));
  const { r, g, b } = fakeColour(render.prompt, render.seed, render.inputImage);
  const level = step / Math.max(1, render.steps);
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = level * (0.4 + (0.6 * x) / (width - 1));
      raw.set([Math.round(r * k), Math.round(g * k), Math.round(b * k)], (y * width + x) * 3);
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  return type === 1 ? img.jpeg({ quality: 80 }).toBuffer() : img.png().toBuffer();
}

function invalid(type: string, message: string, details: string, nodeErrors: unknown) {
  return { error: { type, message, details, extra_info: {} }, node_errors: nodeErrors };
}

function parseMultipart(body: Buffer, contentType: string): { name: string; filename?: string; data: Buffer }[] | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!contentType.startsWith('multipart/form-data') || !m) return null;
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: { name: string; filename?: string; data: Buffer }[] = [];
  let pos = body.indexOf(delim);
  if (pos < 0) return null;
  for (;;) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') return parts;
    if (body.subarray(pos, pos + 2).toString() !== '\r\n') return null;
    pos += 2;
    const headEnd = body.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) return null;
    const head = body.subarray(pos, headEnd).toString('utf8');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delim]), headEnd + 4);
    if (next < 0) return null;
    const disp = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head);
    if (!disp) return null;
    const name = /\bname="([^"]*)"/.exec(disp[1]!)?.[1];
    const filename = /\bfilename="([^"]*)"/.exec(disp[1]!)?.[1];
    if (name === undefined) return null;
    parts.push({ name, filename, data: body.subarray(headEnd + 4, next) });
    pos = next + 2;
  }
}

function splitExt(name: string): [string, string] {
  const i = name.lastIndexOf('.');
  return i > 0 ? [name.slice(0, i), name.slice(i)] : [name, ''];
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function text(res: http.ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(body);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
