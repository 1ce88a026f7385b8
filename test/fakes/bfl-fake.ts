/**
 * A fake Black Forest Labs API (api.bfl.ai) speaking the documented format:
 *   POST /v1/{model}            x-key: <key>, JSON → 200 {id, polling_url}
 *     flux-pro-1.1 (dimensions): width/height multiples of 32 within 256–1440
 *     kontext / flux-2 (images): aspect_ratio "W:H" between 21:9 and 9:21; input_image,
 *       input_image_2 … as base64 (or data URIs), decoded like the model would
 *   GET  /v1/get_result?id=…    x-key → {id, status: Pending | Ready | Request Moderated |
 *                                 Content Moderated | Error | Task not found, result, progress, details}
 *     Pending: `progress` null for the first third of its polls (waiting for a GPU), then a
 *     number rising towards 1 (0…1, rounded to two places) poll by poll.
 *     Ready carries result.sample: a signed delivery URL that expires `sampleTtlMs` after the
 *     task became Ready — afterwards the CDN answers 403 (Azure blob style), like BFL's.
 *   GET  /cdn/results/{id}/sample.png?se=…&sig=…   (delivery stand-in, signature checked)
 * Validation failures answer FastAPI-style 422 {detail: [{loc, msg, type}]}.
 */
import crypto from 'node:crypto';
import { FakeVendorServer, jsonBody, renderPng, type Outcome, type Recorded, type Reply } from './async-fake-kit.js';

export type BflModelKind = 'dimensions' | 'images';

interface Task {
  id: string;
  model: string;
  input: Record<string, unknown>;
  polls: number;
  outcome: Outcome;
  polled: number;
  readyAt?: number;
  sample?: string;
}

export class BflFake extends FakeVendorServer {
  readonly tasks = new Map<string, Task>();
  /** The seed the result reports instead of the one sent; null: the one sent. */
  reportedSeed: number | null = null;
  /** Lifetime of a signed sample URL, counted from the moment the task is Ready. */
  sampleTtlMs = 10 * 60_000;
  /** When each sample was downloaded successfully (task id → ms after it became Ready). */
  readonly fetchedAfterReadyMs = new Map<string, number>();
  private readonly signingKey = crypto.randomBytes(16);

  constructor(
    readonly key: string,
    readonly models: Record<string, BflModelKind> = {
      'flux-pro-1.1': 'dimensions',
      'flux-dev': 'dimensions',
      'flux-kontext-pro': 'images',
      'flux-kontext-max': 'images',
      'flux-2-pro': 'images',
    },
  ) {
    super();
  }

  protected classify(method: string, url: URL): string {
    if (method === 'POST' && url.pathname.startsWith('/v1/')) return 'submit';
    if (method === 'GET' && url.pathname === '/v1/get_result') return 'status';
    return 'other';
  }

  protected async route(rec: Recorded, url: URL): Promise<Reply> {
    const key = rec.headers['x-key'];
    if (key === undefined) return { status: 403, json: { detail: 'Not authenticated' } };
    if (key !== this.key) return { status: 401, json: { detail: `Invalid API key: ${String(key)}` } };
    if (rec.kind === 'submit') return this.submit(rec, url);
    if (rec.kind === 'status') return this.poll(url);
    return { status: 404, json: { detail: 'Not Found' } };
  }

  private async submit(rec: Recorded, url: URL): Promise<Reply> {
    const model = url.pathname.slice('/v1/'.length);
    const kind = this.models[model];
    if (!kind) return { status: 404, json: { detail: 'Not Found' } };
    const missing = (loc: string, msg = 'Field required', type = 'missing'): Reply => ({ status: 422, json: { detail: [{ loc: ['body', loc], msg, type }] } });
    if (rec.json === undefined || typeof rec.json !== 'object' || Array.isArray(rec.json)) return { status: 422, json: { detail: [{ loc: ['body'], msg: 'Invalid JSON', type: 'json_invalid' }] } };
    const input = jsonBody(rec);
    if (typeof input.prompt !== 'string' || input.prompt === '') return missing('prompt');
    if (kind === 'dimensions') {
      for (const side of ['width', 'height'] as const) {
        const v = input[side];
        if (v === undefined) continue;
        if (!Number.isInteger(v) || (v as number) % 32 !== 0) return missing(side, 'Input should be a multiple of 32', 'multiple_of');
        if ((v as number) < 256 || (v as number) > 1440) return missing(side, 'Input should be between 256 and 1440', 'less_than_equal');
      }
      if (input.input_image !== undefined) return missing('input_image', 'Extra inputs are not permitted', 'extra_forbidden');
    } else {
      if (input.aspect_ratio !== undefined) {
        const m = /^(\d+):(\d+)$/.exec(String(input.aspect_ratio));
        const r = m ? Number(m[1]) / Number(m[2]) : NaN;
        if (!(r >= 9 / 21 - 1e-9 && r <= 21 / 9 + 1e-9)) return missing('aspect_ratio', 'Aspect ratio must be between 21:9 and 9:21', 'value_error');
      }
      for (const [i, f] of ['input_image', 'input_image_2', 'input_image_3', 'input_image_4'].entries()) {
        const v = input[f];
        if (v === undefined || v === null) continue;
        if (i > 0 && input.input_image === undefined) return missing('input_image', 'input_image is required with more input images', 'value_error');
        if (!(await this.decodeInput(v))) return missing(f, 'Could not decode the image', 'value_error');
      }
    }
    const s = this.takeScript();
    const id = crypto.randomUUID();
    this.tasks.set(id, { id, model, input, polls: s.polls, outcome: s.outcome, polled: 0 });
    return { status: 200, json: { id, polling_url: `${this.baseUrl}/v1/get_result?id=${id}`, cost: 4 } };
  }

  private async poll(url: URL): Promise<Reply> {
    const id = url.searchParams.get('id');
    const task = id ? this.tasks.get(id) : undefined;
    if (!task) return { status: 200, json: { id, status: 'Task not found', result: null, progress: null, details: null } };
    task.polled++;
    const base = { id: task.id, progress: null, details: null, preview: null };
    if (task.outcome === 'never' || task.polled <= task.polls) {
      const queuedPolls = Math.floor(task.polls / 3);
      const running = task.outcome !== 'never' && task.polled > queuedPolls;
      const progress = running ? Math.round((100 * (task.polled - queuedPolls)) / (task.polls - queuedPolls + 1)) / 100 : null;
      return { status: 200, json: { ...base, status: 'Pending', result: null, progress } };
    }
    switch (task.outcome) {
      case 'blocked_input':
        return { status: 200, json: { ...base, status: 'Request Moderated', result: null, details: { 'Moderation Reasons': ['Derivative Works Filter'] } } };
      case 'nsfw_output':
        return { status: 200, json: { ...base, status: 'Content Moderated', result: null, details: { 'Moderation Reasons': ['Content Moderated'] } } };
      case 'error':
        return { status: 200, json: { ...base, status: 'Error', result: null } };
      case 'malformed_result':
        return { status: 200, json: { ...base, status: 'Ready', result: { prompt: task.input.prompt } } };
      default:
        break;
    }
    if (!task.sample) {
      task.readyAt = Date.now();
      const name = `results/${task.id}/sample.png`;
      const bytes = task.outcome === 'not_image' ? Buffer.from('<?xml version="1.0"?><Error><Code>BlobNotFound</Code></Error>') : await renderPng(String(task.input.prompt), 64, 64);
      const plain = this.putCdn(name, bytes, 'image/png');
      const se = task.readyAt + this.sampleTtlMs;
      task.sample = `${plain}?se=${se}&sig=${this.sign(`/cdn/${name}`, se)}`;
    }
    return {
      status: 200,
      json: { ...base, status: 'Ready', result: { sample: task.sample, prompt: task.input.prompt, seed: this.reportedSeed ?? task.input.seed ?? 1, start_time: task.readyAt! / 1000 - 2, end_time: task.readyAt! / 1000, duration: 2 } },
    };
  }

  protected override checkCdn(url: URL): Reply | null {
    const se = Number(url.searchParams.get('se'));
    const sig = url.searchParams.get('sig') ?? '';
    const denied = (msg: string): Reply => ({
      status: 403,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>${msg}</Message></Error>`,
    });
    if (!Number.isFinite(se) || sig !== this.sign(url.pathname, se)) return denied('Signature did not match.');
    if (Date.now() > se) return denied('Signed expiry time has passed.');
    const id = /^\/cdn\/results\/([^/]+)\//.exec(url.pathname)?.[1];
    const task = id ? this.tasks.get(id) : undefined;
    if (task?.readyAt !== undefined && !this.fetchedAfterReadyMs.has(task.id)) this.fetchedAfterReadyMs.set(task.id, Date.now() - task.readyAt);
    return null;
  }

  private sign(path: string, se: number): string {
    return crypto.createHmac('sha256', this.signingKey).update(`${path}\n${se}`).digest('base64url');
  }

  override reset(): void {
    super.reset();
    this.sampleTtlMs = 10 * 60_000;
    this.reportedSeed = null;
    this.fetchedAfterReadyMs.clear();
  }
}
