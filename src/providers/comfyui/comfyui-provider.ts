/**
 * ComfyUI adapter (a self-hosted ComfyUI server, https://github.com/comfyanonymous/ComfyUI).
 *
 * Wire format (ComfyUI server.py / execution.py):
 *   POST /prompt         JSON {prompt: <workflow, API format>, client_id}
 *                        → 200 {prompt_id, number, node_errors}
 *                        → 400 {error: {type, message, details, extra_info} | string, node_errors: {<node id>:
 *                          {errors: [{type, message, details, extra_info}], dependent_outputs, class_type}}}
 *                          when the graph does not validate (unknown node, missing input, checkpoint not in list…)
 *   GET  /history/{id}   → {} while queued or running; then {<id>: {prompt, outputs: {<node id>: {images:
 *                          [{filename, subfolder, type}]}}, status: {status_str: 'success'|'error', completed,
 *                          messages: [[event, data], …]}}}; a failed run has status_str 'error' and an
 *                          ["execution_error", {node_id, node_type, exception_type, exception_message, …}] message
 *   GET  /view?filename=&subfolder=&type=   → the image bytes
 *   POST /upload/image   multipart: `image` (file), `overwrite`, `type`, `subfolder` → {name, subfolder, type}
 *   POST /queue          JSON {delete: [prompt_id]} — used best-effort to drop a prompt we gave up on
 *
 * ComfyUI has no authentication of its own; when EASEL_COMFYUI_API_KEY is set (a reverse proxy or an
 * auth extension in front of it) every request carries `Authorization: Bearer <key>`.
 *
 * The workflow is the built-in txt2img graph for the model's checkpoint (`vendorModel` → ckpt_name),
 * or the operator's template (EASEL_COMFYUI_WORKFLOW; see workflow.ts for its placeholders). Edits
 * upload the input and run the built-in img2img graph (LoadImage → ImageScale → VAEEncode → KSampler
 * with denoise 0.6).
 *
 * Limits: reference images and history are not used (SD checkpoints take text only in these
 * graphs); figures are added to the prompt as their appearance text. No multi-turn, no combine.
 *
 * Live progress (issue 22), when the caller passes onProgress: a WebSocket to /ws?clientId=<a fresh
 * id per generation> is opened before the prompt is posted (progress-socket.ts) and its messages
 * about our prompt are mapped to queued / loading / sampling (steps) / encoding, with the sampler's
 * preview frames (progress-tracker.ts). Best effort: without it the generation completes by the
 * /history poll, which stays the source of truth; the socket's "done" only wakes that poll early.
 * The socket is closed when the generation ends, however it ends. The id is per generation
 * because ComfyUI keeps one socket per client id: two generations sharing one would steal each
 * other's messages.
 *
 * Reported params: checkpoint, seed, steps, sampler, cfg, from the workflow sent (params.ts).
 *
 * Deadline (vendor/deadline.ts, with vendor/poll-until.ts and vendor/call-json.ts): once a
 * concurrency slot is free, the whole generation (upload, submit, queue wait, run, download) must
 * finish within cfg.timeoutMs, else a retryable `timeout`; the prompt is then removed from
 * ComfyUI's queue if it is still waiting there.
 */
import crypto from 'node:crypto';
import { JobFailure } from '../../errors.js';
import type { EditInput, GenerateInput, ImageProvider, Operation, ProgressSink, ProviderCapabilities, ProviderOutput } from '../port.js';
import { CircuitBreaker } from '../vendor/circuit-breaker.js';
import { vendorConfig, type VendorConfig } from '../vendor/config.js';
import { malformed } from '../vendor/failure.js';
import { vendorFetch, type VendorCall, type VendorResponse } from '../vendor/http.js';
import { Limiter } from '../vendor/limiter.js';
import { callJson } from '../vendor/call-json.js';
import { Deadline } from '../vendor/deadline.js';
import type { PollSchedule } from '../vendor/poll-until.js';
import { inputAsPng, validateVendorImage } from '../vendor/image-bytes.js';
import { workflowParams } from './params.js';
import { openProgressSocket, type ProgressSocket } from './progress-socket.js';
import { ComfyProgressTracker } from './progress-tracker.js';
import { pollUntilOrWoken } from './wakeable-poll.js';
import {
  DEFAULT_SAMPLER,
  fillWorkflowTemplate,
  img2imgWorkflow,
  loadWorkflowTemplate,
  txt2imgWorkflow,
  type SamplerSettings,
  type Workflow,
  type WorkflowTemplate,
} from './workflow.js';

export const COMFYUI_VENDOR = 'ComfyUI';
export const COMFYUI_DEFAULT_BASE_URL = 'http://127.0.0.1:8188';
export const COMFYUI_DEFAULT_TIMEOUT_MS = 300_000;
export const COMFYUI_DEFAULT_POLL_MS = 1000;
export const COMFYUI_EDIT_DENOISE = 0.6;
export const COMFYUI_ADAPTER_VERSION = 'comfyui/2';
/** How long a generation waits for its WebSocket to open before posting the prompt anyway. */
export const COMFYUI_SOCKET_WAIT_MS = 2000;

/**
 * `EASEL_COMFYUI_API_KEY` (optional bearer token), `_BASE_URL` (default http://127.0.0.1:8188),
 * `_TIMEOUT_MS` (default 300000: per call, and the deadline for a whole prompt), `_MAX_CONCURRENCY`
 * (default 2), `_MAX_RETRIES`.
 */
export function comfyuiConfig(): VendorConfig {
  return vendorConfig(COMFYUI_VENDOR, { baseUrl: COMFYUI_DEFAULT_BASE_URL, timeoutMs: COMFYUI_DEFAULT_TIMEOUT_MS, maxConcurrency: 2 });
}

export interface ComfyUIOptions {
  /** Defaults: one breaker and one limiter per server (base URL), shared by every model on it. */
  breaker?: CircuitBreaker;
  limiter?: Limiter;
  /** Base for vendorFetch's jittered retry backoff (default 250 ms). */
  retryBaseMs?: number;
  /** Operator template for generate. Default: EASEL_COMFYUI_WORKFLOW; `null` forces the built-in graph. */
  workflowFile?: string | null;
  /** First wait between /history polls (then growing, jittered, to 4x). Default: EASEL_COMFYUI_POLL_INTERVAL_MS, else 1000 ms. */
  pollIntervalMs?: number;
  negativePrompt?: string;
  sampler?: Partial<SamplerSettings>;
  /** KSampler denoise for edits (default 0.6: keeps the input's composition). */
  editDenoise?: number;
}

interface ImageRef {
  filename: string;
  subfolder: string;
  type: string;
}

const shared = new Map<string, { breaker: CircuitBreaker; limiter: Limiter }>();

export class ComfyUIProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  readonly breaker: CircuitBreaker;
  readonly template: WorkflowTemplate | null;
  readonly adapterVersion = COMFYUI_ADAPTER_VERSION;
  private readonly limiter: Limiter;
  private readonly sampler: SamplerSettings;
  private readonly schedule: PollSchedule;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;

  /**
   * @param id the catalogue model id
   * @param vendorModel the checkpoint file the built-in graphs load (CheckpointLoaderSimple
   *   ckpt_name, e.g. `sd_xl_base_1.0.safetensors`); also `{{checkpoint}}` in a template. May be
   *   empty only with a template, and then the model cannot edit.
   * @throws WorkflowTemplateError when the template file is unreadable or not a usable workflow
   */
  constructor(
    readonly id: string,
    readonly vendorModel: string,
    private readonly cfg: VendorConfig = comfyuiConfig(),
    private readonly options: ComfyUIOptions = {},
  ) {
    const file = options.workflowFile === undefined ? process.env.EASEL_COMFYUI_WORKFLOW || null : options.workflowFile;
    this.template = file ? loadWorkflowTemplate(file) : null;
    if (!vendorModel && !this.template) throw new Error(`ComfyUI model "${id}" needs a checkpoint name (vendor model) or EASEL_COMFYUI_WORKFLOW.`);
    if (!vendorModel && this.template?.used.has('checkpoint')) throw new Error(`ComfyUI model "${id}": the workflow template uses {{checkpoint}} but the model has no checkpoint name.`);

    let perServer = shared.get(cfg.baseUrl);
    if (!perServer) shared.set(cfg.baseUrl, (perServer = { breaker: new CircuitBreaker(cfg.vendor), limiter: new Limiter(cfg.maxConcurrency) }));
    this.breaker = options.breaker ?? perServer.breaker;
    this.limiter = options.limiter ?? perServer.limiter;
    this.sampler = { ...DEFAULT_SAMPLER, ...options.sampler };
    const pollMs = options.pollIntervalMs ?? envInt('EASEL_COMFYUI_POLL_INTERVAL_MS') ?? COMFYUI_DEFAULT_POLL_MS;
    // A local GPU server: poll briskly, growing gently (jittered) to 4x the base interval.
    this.schedule = { initialMs: pollMs, maxMs: pollMs * 4, factor: 1.25, jitter: 0.2 };

    const operations: Operation[] = ['generate'];
    if (vendorModel) {
      operations.push('edit');
      this.edit = (input) => this.guard(() => this.runEdit(input));
    }
    // Seeded local backend: the same workflow and seed give the same pixels (issue 22, result cache).
    this.capabilities = { operations, multiturn: false, maxConcurrency: cfg.maxConcurrency, deterministic: true };
  }

  generate(input: GenerateInput): Promise<ProviderOutput> {
    return this.guard(() =>
      this.run(input.signal, input.onProgress, async () => {
        const prompt = sdPrompt(input);
        const seed = uint32(input.seed);
        const negative = this.options.negativePrompt ?? '';
        return this.template
          ? fillWorkflowTemplate(this.template, { prompt, negative_prompt: negative, seed, width: input.width, height: input.height, checkpoint: this.vendorModel })
          : txt2imgWorkflow({ checkpoint: this.vendorModel, prompt, negativePrompt: negative, seed, width: input.width, height: input.height, sampler: this.sampler });
      }),
    );
  }

  private runEdit(input: EditInput): Promise<ProviderOutput> {
    return this.run(input.signal, input.onProgress, async (deadline) =>
      img2imgWorkflow({
        checkpoint: this.vendorModel,
        prompt: sdPrompt(input),
        negativePrompt: this.options.negativePrompt ?? '',
        seed: uint32(input.seed),
        width: input.width,
        height: input.height,
        sampler: this.sampler,
        image: await this.upload(input.image.bytes, deadline),
        denoise: this.options.editDenoise ?? COMFYUI_EDIT_DENOISE,
      }),
    );
  }

  /**
   * One generation: wait for a slot on this server (not counted against the deadline), then build
   * the workflow (uploading inputs), open the progress socket (when someone listens), submit,
   * poll /history and download the image — all within one Deadline of cfg.timeoutMs tied to the
   * job's signal.
   */
  private run(jobSignal: AbortSignal, onProgress: ProgressSink | undefined, build: (deadline: Deadline) => Promise<Workflow>): Promise<ProviderOutput> {
    if (jobSignal.aborted) return Promise.reject(aborted());
    return this.limiter.run(async () => {
      const deadline = new Deadline(COMFYUI_VENDOR, this.cfg.timeoutMs, jobSignal);
      const clientId = crypto.randomUUID();
      let promptId: string | null = null;
      let socket: ProgressSocket | null = null;
      try {
        const workflow = await deadline.race(build(deadline));
        let tracker: ComfyProgressTracker | null = null;
        // No socket while the breaker is open: the submit is refused without touching the server.
        if (onProgress && this.breaker.state !== 'open') {
          tracker = new ComfyProgressTracker(workflow, onProgress);
          socket = openProgressSocket(this.cfg.baseUrl, clientId, this.authHeaders(), tracker, Math.min(COMFYUI_SOCKET_WAIT_MS, deadline.remainingMs()));
          await deadline.race(socket.ready);
        }
        promptId = await this.submit(workflow, clientId, deadline);
        const id = promptId;
        tracker?.track(id);
        const ref = await pollUntilOrWoken(deadline, this.schedule, tracker?.finished ?? null, async () => {
          const { json } = await callJson<Record<string, unknown>>(this.cfg, this.breaker, deadline, { method: 'GET', url: `/history/${encodeURIComponent(id)}`, headers: this.authHeaders() }, this.options.retryBaseMs);
          const entry = json[id];
          return entry === undefined ? undefined : (finishedImage(entry, workflow) ?? undefined);
        });
        const query = new URLSearchParams({ filename: ref.filename, subfolder: ref.subfolder, type: ref.type });
        const res = await deadline.race(this.call({ method: 'GET', url: `/view?${query}`, signal: deadline.signal }));
        const { bytes, mime } = await validateVendorImage(COMFYUI_VENDOR, res.body);
        return { bytes, mime, params: workflowParams(workflow) };
      } catch (e) {
        // Out of time, canceled, or about to be retried (which submits a new prompt) while this one
        // may still wait in ComfyUI's queue: drop it there so the GPU does not render it for nobody.
        if (promptId && (deadline.signal.aborted || (e instanceof JobFailure && e.retryable))) await this.forget(promptId);
        throw e;
      } finally {
        socket?.close();
        deadline.dispose();
      }
    });
  }

  private async submit(workflow: Workflow, clientId: string, deadline: Deadline): Promise<string> {
    let body: Record<string, unknown>;
    try {
      ({ json: body } = await callJson<Record<string, unknown>>(this.cfg, this.breaker, deadline, { method: 'POST', url: '/prompt', json: { prompt: workflow, client_id: clientId }, headers: this.authHeaders() }, this.options.retryBaseMs));
    } catch (e) {
      throw definiteRejection(e) ?? e;
    }
    if (typeof body.prompt_id !== 'string' || body.prompt_id === '') throw malformed(COMFYUI_VENDOR, 'a /prompt answer without a prompt_id');
    return body.prompt_id;
  }

  /** Uploads the input to ComfyUI's input folder; returns the LoadImage `image` value. */
  private async upload(bytes: Buffer, deadline: Deadline): Promise<string> {
    const png = await inputAsPng(bytes);
    // Named by content: a retried upload overwrites the same file instead of piling up copies.
    const name = `easel-${crypto.createHash('sha256').update(png).digest('hex').slice(0, 32)}.png`;
    const { body, contentType } = multipart([
      { name: 'image', filename: name, contentType: 'image/png', data: png },
      { name: 'type', data: 'input' },
      { name: 'subfolder', data: 'easel' },
      { name: 'overwrite', data: 'true' },
    ]);
    const { json: out } = await callJson<Record<string, unknown>>(this.cfg, this.breaker, deadline, { method: 'POST', url: '/upload/image', body, headers: { ...this.authHeaders(), 'content-type': contentType } }, this.options.retryBaseMs);
    if (typeof out.name !== 'string' || out.name === '') throw malformed(COMFYUI_VENDOR, 'an /upload/image answer without a name');
    const subfolder = typeof out.subfolder === 'string' ? out.subfolder : '';
    const type = typeof out.type === 'string' ? out.type : 'input';
    return `${subfolder ? `${subfolder}/` : ''}${out.name}${type !== 'input' ? ` [${type}]` : ''}`;
  }

  /** Best effort: drop a prompt we stopped waiting for from ComfyUI's queue (no-op once it runs). */
  private async forget(promptId: string): Promise<void> {
    try {
      const quick = { ...this.cfg, maxRetries: 0, timeoutMs: Math.min(this.cfg.timeoutMs, 5000) };
      await vendorFetch(quick, new CircuitBreaker(this.cfg.vendor), { method: 'POST', url: '/queue', json: { delete: [promptId] }, headers: this.authHeaders() });
    } catch {
      // The prompt may still run to completion on the server; nothing else to do.
    }
  }

  private call(call: VendorCall): Promise<VendorResponse> {
    return vendorFetch(this.cfg, this.breaker, { ...call, headers: { ...this.authHeaders(), ...call.headers } }, { retryBaseMs: this.options.retryBaseMs });
  }

  private authHeaders(): Record<string, string> {
    return this.cfg.apiKey ? { authorization: `Bearer ${this.cfg.apiKey}` } : {};
  }

  /** Every failure leaves as a fresh JobFailure: no vendor body attached, the key scrubbed from the text. */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw scrubFailure(e, this.cfg.apiKey ? [this.cfg.apiKey] : []);
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** The image of a finished history entry; null while it is still running; throws for a failed run. */
function finishedImage(entry: unknown, workflow: Workflow): ImageRef | null {
  if (!isObject(entry)) throw malformed(COMFYUI_VENDOR, 'a /history entry that is not an object');
  const status = entry.status;
  if (status !== undefined && status !== null && !isObject(status)) throw malformed(COMFYUI_VENDOR, 'a /history entry with an unreadable status');
  if (isObject(status) && status.status_str === 'error') throw executionFailure(status);
  // Servers older than the `status` field write the history entry only once the prompt finished.
  if (isObject(status) && status.completed !== true) return null;
  if (!isObject(entry.outputs)) throw malformed(COMFYUI_VENDOR, 'a finished prompt without outputs');
  const ref = pickImage(entry.outputs, workflow);
  if (!ref) throw malformed(COMFYUI_VENDOR, 'a finished prompt without an output image');
  return ref;
}

/** Prefers images of SaveImage nodes, then images saved to `output` (over `temp` previews). */
function pickImage(outputs: Record<string, unknown>, workflow: Workflow): ImageRef | null {
  const found: { ref: ImageRef; rank: number }[] = [];
  for (const [nodeId, out] of Object.entries(outputs)) {
    if (!isObject(out) || !Array.isArray(out.images)) continue;
    for (const img of out.images) {
      if (!isObject(img) || typeof img.filename !== 'string' || img.filename === '') continue;
      const ref = { filename: img.filename, subfolder: typeof img.subfolder === 'string' ? img.subfolder : '', type: typeof img.type === 'string' ? img.type : 'output' };
      const rank = (workflow[nodeId]?.class_type === 'SaveImage' ? 0 : 2) + (ref.type === 'output' ? 0 : 1);
      found.push({ ref, rank });
    }
  }
  found.sort((a, b) => a.rank - b.rank);
  return found[0]?.ref ?? null;
}

function executionFailure(status: Record<string, unknown>): JobFailure {
  const messages = Array.isArray(status.messages) ? status.messages : [];
  const event = (name: string): Record<string, unknown> | null => {
    const m = messages.find((x) => Array.isArray(x) && x[0] === name) as [string, unknown] | undefined;
    if (!m) return null;
    return isObject(m[1]) ? m[1] : {};
  };
  const err = event('execution_error');
  if (err) {
    const node = `${str(err.node_type) || 'a node'}${str(err.node_id) ? ` (node ${str(err.node_id)})` : ''}`;
    const what = [str(err.exception_type), str(err.exception_message)].filter(Boolean).join(': ');
    const oom = /out ?of ?memory/i.test(what);
    return new JobFailure(
      'upstream_error',
      `ComfyUI failed while running the workflow: ${node} raised ${truncate(what || 'an error', 400)}${oom ? ' (the server ran out of memory; a retry may succeed)' : ''}.`,
      oom,
      undefined,
      { node_id: str(err.node_id) || null, node_type: str(err.node_type) || null, exception_type: str(err.exception_type) || null },
    );
  }
  if (event('execution_interrupted')) return new JobFailure('upstream_error', 'ComfyUI interrupted the prompt (someone pressed cancel on the server).', true);
  return new JobFailure('upstream_error', 'ComfyUI reported that the prompt failed, without saying why.', false);
}

/** A 400 from /prompt (the graph does not validate) or a 404 (not a ComfyUI API) → a failure for the operator. */
function definiteRejection(e: unknown): JobFailure | null {
  const err = e as { vendorStatus?: unknown; vendorBody?: unknown };
  if (!(e instanceof JobFailure) || typeof err.vendorStatus !== 'number') return null;
  if (err.vendorStatus === 404) {
    return new JobFailure('upstream_error', 'ComfyUI has no /prompt endpoint at the configured address (404); the operator must check EASEL_COMFYUI_BASE_URL.', false);
  }
  if (err.vendorStatus !== 400) return null;
  let json: unknown = null;
  try {
    json = JSON.parse(typeof err.vendorBody === 'string' ? err.vendorBody : '');
  } catch {
    // keep null
  }
  const parts: string[] = [];
  const nodeErrors = isObject(json) && isObject(json.node_errors) ? json.node_errors : {};
  const nodeIds = Object.keys(nodeErrors);
  const top = isObject(json) ? json.error : undefined;
  if (typeof top === 'string') parts.push(top);
  else if (isObject(top)) parts.push([str(top.message), nodeIds.length > 0 ? '' : str(top.details)].filter(Boolean).join(': '));
  const nodes: Record<string, string> = {};
  for (const id of nodeIds.slice(0, 3)) {
    const n = nodeErrors[id];
    if (!isObject(n)) continue;
    nodes[id] = str(n.class_type);
    const reasons = (Array.isArray(n.errors) ? n.errors : []).filter(isObject).map((r) => [str(r.message), str(r.details)].filter(Boolean).join(': '));
    parts.push(`node ${id}${str(n.class_type) ? ` (${str(n.class_type)})` : ''}: ${reasons.join('; ') || 'invalid'}`);
  }
  const why = truncate(parts.filter(Boolean).join('; ') || 'no reason given', 600);
  return new JobFailure(
    'upstream_error',
    `ComfyUI rejected the workflow (400): ${why}. The operator must fix the workflow template or the model's checkpoint name.`,
    false,
    undefined,
    { vendor_status: 400, node_errors: nodes },
  );
}

/** SD checkpoints read a short comma-separated description: the prompt, then each figure's appearance. */
export function sdPrompt(input: GenerateInput): string {
  const parts = [input.prompt.trim()];
  for (const f of input.figures ?? []) if (f.appearance.trim()) parts.push(f.appearance.trim());
  if (input.portrait) parts.push('single character, plain background');
  return parts.filter(Boolean).join(', ');
}

/** Seeds as ComfyUI's KSampler takes them (0 … 2^64-1); Easel's are already non-negative 31-bit. */
function uint32(seed: number): number {
  const n = Math.trunc(seed) % 2 ** 32;
  return n < 0 ? n + 2 ** 32 : n;
}

interface Part {
  name: string;
  data: Buffer | string;
  filename?: string;
  contentType?: string;
}

/** multipart/form-data serialised once into a Buffer, so a retry resends identical bytes. */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----easel${crypto.randomBytes(12).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = `form-data; name="${p.name}"${p.filename ? `; filename="${p.filename}"` : ''}`;
    const head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n${p.contentType ? `Content-Type: ${p.contentType}\r\n` : ''}\r\n`;
    chunks.push(Buffer.from(head), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** A fresh JobFailure (without the vendorBody vendorFetch attaches) with every secret scrubbed. */
export function scrubFailure(e: unknown, secrets: string[]): unknown {
  if (!(e instanceof JobFailure)) return e;
  const live = secrets.filter((s) => s.length > 0);
  const scrub = (s: string) => live.reduce((acc, secret) => acc.split(secret).join('[redacted]'), s);
  const deep = (v: unknown): unknown =>
    typeof v === 'string' ? scrub(v) : Array.isArray(v) ? v.map(deep) : isObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, deep(x)])) : v;
  return new JobFailure(e.code, scrub(e.message), e.retryable, e.retryAfterMs, e.details ? (deep(e.details) as Record<string, unknown>) : undefined);
}

function aborted(): JobFailure {
  return new JobFailure('timeout', 'ComfyUI generation aborted.', true);
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer`);
  return n;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function truncate(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
