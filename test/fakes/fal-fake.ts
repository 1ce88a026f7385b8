/**
 * A fake fal.ai queue (queue.fal.run) speaking the documented wire format:
 *   POST /{owner}/{alias}[/{subpath}]          Authorization: Key <key>, JSON input
 *     → 200 {request_id, response_url, status_url, cancel_url, queue_position}
 *       (status/response URLs use /{owner}/{alias} without the subpath, like fal's)
 *   GET  /{owner}/{alias}/requests/{id}/status[?logs=1]
 *                                               → 202 {status: IN_QUEUE, queue_position}   (the position drops poll by poll)
 *                                               → 202 {status: IN_PROGRESS, logs}          (logs only with logs=1: the
 *                                                  app's lines, a tqdm bar "12/28" climbing with each poll)
 *                                               → 200 {status: COMPLETED, logs, [error, error_type]}
 *   GET  /{owner}/{alias}/requests/{id}        → 200 {images: [{url, content_type, width, height}], has_nsfw_concepts, seed}
 *                                               → 422 {detail: [{loc, msg, type: content_policy_violation}]}
 *                                               → 500 {detail: [...]} (failed request)
 *   PUT  /{owner}/{alias}/requests/{id}/cancel → 202 {status: CANCELLATION_REQUESTED}
 *   GET  /cdn/...                               (fal.media stand-in, no auth)
 */
import crypto from 'node:crypto';
import { FakeVendorServer, jsonBody, renderPng, solidPng, type Outcome, type Recorded, type Reply } from './async-fake-kit.js';

export type FalModelKind =
  /** text to image, takes image_size */
  | 't2i'
  /** one input image in image_url (kontext) */
  | 'edit'
  /** several input images in image_urls (kontext multi, nano-banana edit) */
  | 'multi';

interface Job {
  id: string;
  app: string;
  model: string;
  input: Record<string, unknown>;
  polls: number;
  outcome: Outcome;
  polled: number;
  canceled: boolean;
}

const ASPECT = new Set(['21:9', '16:9', '4:3', '3:2', '1:1', '2:3', '3:4', '9:16', '9:21']);
const SIZE_ENUM = new Set(['square_hd', 'square', 'portrait_4_3', 'portrait_16_9', 'landscape_4_3', 'landscape_16_9']);

export class FalFake extends FakeVendorServer {
  readonly jobs = new Map<string, Job>();
  /** The seed the result reports instead of the one sent (a model that picks its own); null: the one sent. */
  reportedSeed: number | null = null;

  constructor(
    readonly key: string,
    readonly models: Record<string, FalModelKind> = {
      'fal-ai/flux-pro/v1.1': 't2i',
      'fal-ai/flux-pro/kontext': 'edit',
      'fal-ai/flux-pro/kontext/max/multi': 'multi',
    },
  ) {
    super();
  }

  protected classify(method: string, url: URL): string {
    if (method === 'POST') return 'submit';
    if (method === 'PUT' && url.pathname.endsWith('/cancel')) return 'cancel';
    if (/\/requests\/[^/]+\/status$/.test(url.pathname)) return 'status';
    if (/\/requests\/[^/]+$/.test(url.pathname)) return 'result';
    return 'other';
  }

  protected async route(rec: Recorded, url: URL): Promise<Reply> {
    const auth = rec.headers.authorization;
    if (auth !== `Key ${this.key}`) {
      // Like many real services, the refusal names what it was given: the adapter must not pass it on.
      return { status: 401, json: { detail: `Invalid credentials: ${auth ?? '(none)'}` } };
    }
    if (rec.kind === 'submit') return this.submit(rec, url);
    const m = /^\/([^/]+\/[^/]+)\/requests\/([^/]+)(\/status|\/cancel)?$/.exec(url.pathname);
    const job = m ? this.jobs.get(m[2]!) : undefined;
    if (!m || !job || job.app !== m[1]) return { status: 404, json: { detail: 'Request not found' } };
    if (rec.kind === 'cancel') {
      job.canceled = true;
      return { status: 202, json: { status: 'CANCELLATION_REQUESTED' } };
    }
    if (rec.kind === 'status') return this.status(job, url.searchParams.get('logs') === '1');
    return this.result(job);
  }

  private async submit(rec: Recorded, url: URL): Promise<Reply> {
    const model = url.pathname.slice(1);
    const kind = this.models[model];
    if (!kind) return { status: 404, json: { detail: `Application '${model}' not found` } };
    if (!/json/.test(String(rec.headers['content-type'])) || rec.json === undefined || typeof rec.json !== 'object' || Array.isArray(rec.json)) {
      return { status: 422, json: { detail: [{ loc: ['body'], msg: 'Expected a JSON object', type: 'value_error' }] } };
    }
    const input = jsonBody(rec);
    const bad = (loc: string, msg: string): Reply => ({ status: 422, json: { detail: [{ loc: ['body', loc], msg, type: 'value_error' }] } });
    if (typeof input.prompt !== 'string' || input.prompt.trim() === '') return bad('prompt', 'field required');
    if (input.image_size !== undefined) {
      const s = input.image_size as { width?: unknown; height?: unknown } | string;
      const ok = typeof s === 'string' ? SIZE_ENUM.has(s) : Number.isInteger(s?.width) && Number.isInteger(s?.height) && (s.width as number) > 0 && (s.height as number) > 0;
      if (!ok) return bad('image_size', 'invalid image size');
    }
    if (input.aspect_ratio !== undefined && !ASPECT.has(String(input.aspect_ratio))) return bad('aspect_ratio', 'unsupported aspect ratio');
    if (kind === 'edit') {
      if (typeof input.image_url !== 'string') return bad('image_url', 'field required');
      if (!(await this.decodeInput(input.image_url))) return bad('image_url', 'could not load the image');
    }
    if (kind === 'multi') {
      if (!Array.isArray(input.image_urls) || input.image_urls.length === 0) return bad('image_urls', 'field required');
      for (const u of input.image_urls) if (!(await this.decodeInput(u))) return bad('image_urls', 'could not load an image');
    }
    const s = this.takeScript();
    const id = crypto.randomUUID();
    const app = model.split('/').slice(0, 2).join('/');
    this.jobs.set(id, { id, app, model, input, polls: s.polls, outcome: s.outcome, polled: 0, canceled: false });
    const base = `${this.baseUrl}/${app}/requests/${id}`;
    return { status: 200, json: { request_id: id, response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel`, queue_position: 0 } };
  }

  private done(job: Job): boolean {
    return job.outcome !== 'never' && job.polled > job.polls;
  }

  private status(job: Job, withLogs: boolean): Reply {
    job.polled++;
    const response_url = `${this.baseUrl}/${job.app}/requests/${job.id}`;
    const queuePolls = Math.floor(job.polls / 2);
    if (!this.done(job)) {
      const inQueue = job.outcome === 'never' || job.polled <= queuePolls;
      if (inQueue) {
        // Jobs ahead of this one leave the queue: the position drops to 0 on the last queued poll.
        const queue_position = job.outcome === 'never' ? 3 : Math.max(0, queuePolls - job.polled);
        return { status: 202, json: { status: 'IN_QUEUE', request_id: job.id, queue_position, response_url } };
      }
      return { status: 202, json: { status: 'IN_PROGRESS', request_id: job.id, response_url, logs: withLogs ? this.logs(job, job.polled - queuePolls, job.polls - queuePolls) : null } };
    }
    const failed =
      job.outcome === 'error' ? { error: 'Internal server error', error_type: 'runner_server_error' } : job.outcome === 'blocked_input' ? { error: 'Unprocessable input', error_type: 'content_policy_violation' } : {};
    const logs = withLogs ? this.logs(job, 1, 1) : null;
    return { status: 200, json: { status: 'COMPLETED', request_id: job.id, response_url, logs, metrics: { inference_time: 0.42 }, ...failed } };
  }

  /** The app's log so far (fal answers the whole log each time): a loading line, then a tqdm bar per step reached. */
  private logs(job: Job, progressPoll: number, progressPolls: number): { message: string; level: string; source: string; timestamp: string }[] {
    const steps = Number.isInteger(job.input.num_inference_steps) ? (job.input.num_inference_steps as number) : 28;
    const reached = Math.max(1, Math.round((steps * progressPoll) / Math.max(1, progressPolls)));
    const line = (message: string) => ({ message, level: 'INFO', source: 'user', timestamp: new Date().toISOString() });
    const out = [line(`Loading pipeline for ${job.model}`), line(`Using seed: ${String(job.input.seed ?? 42)}`)];
    for (const step of [Math.max(1, reached - 1), reached]) {
      const pct = Math.round((100 * step) / steps);
      out.push(line(`${String(pct).padStart(3)}%|${'█'.repeat(Math.round(pct / 10)).padEnd(10)}| ${step}/${steps} [00:01<00:02,  5.10it/s]`));
    }
    return out;
  }

  private async result(job: Job): Promise<Reply> {
    if (!this.done(job)) return { status: 400, json: { detail: 'Request is still in progress' } };
    const prompt = String(job.input.prompt);
    const size = job.input.image_size as { width?: number; height?: number } | undefined;
    const w = size?.width ?? 64;
    const h = size?.height ?? 64;
    switch (job.outcome) {
      case 'blocked_input':
        return {
          status: 422,
          json: { detail: [{ loc: ['body', 'prompt'], msg: 'The content was flagged by a content checker.', type: 'content_policy_violation', url: 'https://docs.fal.ai/errors#content_policy_violation' }] },
        };
      case 'error':
        return { status: 500, json: { detail: [{ loc: [], msg: 'Internal server error', type: 'internal_server_error' }] } };
      case 'malformed_result':
        return { status: 200, json: { images: [], seed: job.input.seed } };
      case 'not_image': {
        const url = this.putCdn(`files/${job.id}/image.png`, Buffer.from('<html><body>Access denied</body></html>'), 'image/png');
        return this.images(job, url, w, h, false);
      }
      case 'nsfw_output': {
        // fal's safety checker answers a black image and flags it.
        const url = this.putCdn(`files/${job.id}/image.png`, await solidPng(Math.min(w, 256), Math.min(h, 256), { r: 0, g: 0, b: 0 }), 'image/png');
        return this.images(job, url, w, h, true);
      }
      default: {
        const url = this.putCdn(`files/${job.id}/${crypto.randomBytes(6).toString('hex')}.png`, await renderPng(prompt, w, h), 'image/png');
        return this.images(job, url, w, h, false);
      }
    }
  }

  private images(job: Job, url: string, w: number, h: number, nsfw: boolean): Reply {
    return {
      status: 200,
      json: {
        images: [{ url, content_type: 'image/png', width: w, height: h, file_name: 'image.png' }],
        timings: { inference: 0.42 },
        seed: this.reportedSeed ?? job.input.seed ?? 42,
        has_nsfw_concepts: [nsfw],
        prompt: job.input.prompt,
      },
    };
  }

  override reset(): void {
    super.reset();
    this.reportedSeed = null;
  }
}
