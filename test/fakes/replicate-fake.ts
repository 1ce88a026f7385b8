/**
 * A fake Replicate HTTP API speaking the documented prediction format:
 *   POST /v1/models/{owner}/{name}/predictions   {input}            (official models)
 *   POST /v1/predictions                         {version, input}   (model versions)
 *     Authorization: Bearer <token>; optional `Prefer: wait[=1..60]` holds the request until
 *     the prediction is done (then 201 with a terminal prediction) or the wait runs out (201,
 *     status starting/processing)
 *   GET  /v1/predictions/{id}          → prediction {id, model, version, input, status, output, error, urls, ...}
 *   POST /v1/predictions/{id}/cancel   → prediction with status canceled
 *   GET  /cdn/...                      (replicate.delivery stand-in, no auth)
 * Validation failures answer 422 {title, detail, status}; bad tokens 401.
 * While it runs a prediction is `starting` (the first third of its polls: a worker booting), then
 * `processing` with `logs` growing like a cog model's: "Using seed: N", then one tqdm bar line per
 * poll (" 45%|████▌     | 9/20 [00:01<00:02,  5.10it/s]") up to the model's steps.
 */
import crypto from 'node:crypto';
import { FakeVendorServer, jsonBody, renderPng, type Outcome, type Recorded, type Reply } from './async-fake-kit.js';

export interface ReplicateFakeModel {
  /** Flux 1.1 pro answers one URL, flux-schnell a list. */
  output: 'string' | 'array';
  /** Input fields holding images (decoded like the model would). */
  imageFields?: string[];
}

interface Prediction {
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  polls: number;
  outcome: Outcome;
  polled: number;
  status: string;
  logs: string;
  output: unknown;
  error: string | null;
  created_at: string;
  completed_at: string | null;
}

const ASPECT = new Set(['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21', 'match_input_image']);

export class ReplicateFake extends FakeVendorServer {
  readonly predictions = new Map<string, Prediction>();
  /** How long a `Prefer: wait` request is held when the prediction is not done at once. */
  syncHoldMs = 20;
  /** The seed the model logs instead of the one sent (a model that picks its own); null: the one sent. */
  reportedSeed: number | null = null;

  constructor(
    readonly token: string,
    readonly models: Record<string, ReplicateFakeModel> = {
      'black-forest-labs/flux-1.1-pro': { output: 'string' },
      'black-forest-labs/flux-schnell': { output: 'array' },
      'black-forest-labs/flux-kontext-pro': { output: 'string', imageFields: ['input_image'] },
      'google/nano-banana': { output: 'string', imageFields: ['image_input'] },
    },
    /** version id → model name, for POST /v1/predictions. */
    readonly versions: Record<string, string> = {
      '5599ed30703defd1d160a25a63321b4dec97101d98b4674bcc56e41f62f35637': 'black-forest-labs/flux-schnell',
    },
  ) {
    super();
  }

  protected classify(method: string, url: URL): string {
    if (method === 'POST' && url.pathname.endsWith('/cancel')) return 'cancel';
    if (method === 'POST') return 'submit';
    if (/^\/v1\/predictions\/[^/]+$/.test(url.pathname)) return 'status';
    return 'other';
  }

  protected async route(rec: Recorded, url: URL): Promise<Reply> {
    const auth = rec.headers.authorization ?? '';
    const token = /^(Bearer|Token) (.+)$/.exec(auth)?.[2];
    if (token !== this.token) {
      return { status: 401, json: { title: 'Unauthenticated', detail: `Invalid token: ${auth || '(none)'}`, status: 401 } };
    }
    if (rec.kind === 'submit') return this.create(rec, url);
    const m = /^\/v1\/predictions\/([^/]+)(\/cancel)?$/.exec(url.pathname);
    const p = m ? this.predictions.get(m[1]!) : undefined;
    if (!p) return { status: 404, json: { title: 'Not found', detail: 'Prediction not found', status: 404 } };
    if (rec.kind === 'cancel') {
      if (!this.terminal(p)) Object.assign(p, { status: 'canceled', completed_at: new Date().toISOString() });
      return { status: 200, json: this.view(p) };
    }
    if (rec.kind === 'status') {
      p.polled++;
      await this.advance(p);
      return { status: 200, json: this.view(p) };
    }
    return { status: 404, json: { title: 'Not found', detail: 'no such endpoint', status: 404 } };
  }

  private async create(rec: Recorded, url: URL): Promise<Reply> {
    const invalid = (detail: string, status = 422): Reply => ({ status, json: { title: 'Input validation failed', detail, status } });
    let model: string | undefined;
    const body = jsonBody(rec);
    if (rec.json === undefined || typeof rec.json !== 'object') return invalid('The request body must be JSON.', 400);
    const official = /^\/v1\/models\/([^/]+\/[^/]+)\/predictions$/.exec(url.pathname);
    if (official) {
      model = official[1]!;
      if (!this.models[model]) return { status: 404, json: { title: 'Not found', detail: `Model ${model} not found`, status: 404 } };
      if (body.version !== undefined) return invalid('version must not be given for an official model');
    } else if (url.pathname === '/v1/predictions') {
      model = typeof body.version === 'string' ? this.versions[body.version] : undefined;
      if (!model) return invalid('Invalid version or not permitted');
    } else {
      return { status: 404, json: { title: 'Not found', detail: 'no such endpoint', status: 404 } };
    }
    const prefer = rec.headers.prefer;
    let waitS = 0;
    if (prefer !== undefined) {
      const pm = /^wait(?:=(\d+))?$/.exec(String(prefer));
      if (!pm || (pm[1] !== undefined && (Number(pm[1]) < 1 || Number(pm[1]) > 60))) return invalid('Prefer: wait must be "wait" or "wait=N" with N from 1 to 60', 400);
      waitS = pm[1] === undefined ? 60 : Number(pm[1]);
    }
    const input = body.input as Record<string, unknown> | undefined;
    if (!input || typeof input !== 'object' || Array.isArray(input)) return invalid('- input: input is required');
    if (typeof input.prompt !== 'string' || input.prompt === '') return invalid('- input: prompt is required');
    if (input.aspect_ratio !== undefined && !ASPECT.has(String(input.aspect_ratio))) return invalid('- input.aspect_ratio: must be one of the listed ratios');
    for (const f of this.models[model]!.imageFields ?? []) {
      const v = input[f];
      if (v === undefined) continue;
      for (const item of Array.isArray(v) ? v : [v]) if (!(await this.decodeInput(item))) return invalid(`- input.${f}: could not read the file`);
    }

    const s = this.takeScript();
    const id = crypto.randomBytes(13).toString('base64url').toLowerCase().replace(/[^a-z0-9]/g, 'x');
    const p: Prediction = {
      id,
      model,
      version: official ? 'hidden' : String(body.version),
      input,
      polls: s.polls,
      outcome: s.outcome,
      polled: 0,
      status: 'starting',
      logs: '',
      output: null,
      error: null,
      created_at: new Date().toISOString(),
      completed_at: null,
    };
    this.predictions.set(id, p);
    await this.advance(p);
    // Sync mode: a prediction that finishes at once comes back done; otherwise after the hold, running.
    const delayMs = waitS > 0 && !this.terminal(p) ? Math.min(waitS * 1000, this.syncHoldMs) : 0;
    return { status: 201, headers: { location: `${this.baseUrl}/v1/predictions/${id}` }, json: this.view(p), delayMs };
  }

  private terminal(p: Prediction): boolean {
    return ['succeeded', 'failed', 'canceled'].includes(p.status);
  }

  private async advance(p: Prediction): Promise<void> {
    if (this.terminal(p)) return;
    // `polls` GETs still see it running; with polls = 0 it is done when created (sync mode answers it).
    const startingPolls = Math.floor(p.polls / 3);
    if (p.outcome === 'never' || (p.polls > 0 && p.polled <= p.polls)) {
      p.status = p.polled === 0 || p.polled <= startingPolls ? 'starting' : 'processing';
      if (p.status === 'processing' && p.outcome !== 'never') this.log(p, p.polled - startingPolls, p.polls - startingPolls);
      return;
    }
    this.log(p, 1, 1);
    p.completed_at = new Date().toISOString();
    const prompt = String(p.input.prompt);
    switch (p.outcome) {
      case 'nsfw_output':
        Object.assign(p, { status: 'failed', error: 'NSFW content detected. Try running it again, or try a different prompt.' });
        return;
      case 'blocked_input':
        Object.assign(p, { status: 'failed', error: 'The input prompt was flagged as sensitive. Please try with different inputs. (E005)' });
        return;
      case 'error':
        Object.assign(p, { status: 'failed', error: 'CUDA out of memory. Tried to allocate 2.00 GiB' });
        return;
      case 'canceled':
        p.status = 'canceled';
        return;
      case 'malformed_result':
        Object.assign(p, { status: 'succeeded', output: { unexpected: true } });
        return;
      case 'not_image': {
        const url = this.putCdn(`pbxt/${p.id}/out-0.png`, Buffer.from('{"error":"not an image"}'), 'image/png');
        Object.assign(p, { status: 'succeeded', output: this.models[p.model]!.output === 'array' ? [url] : url });
        return;
      }
      default: {
        const png = await renderPng(prompt, 64, 64);
        const url = this.putCdn(`pbxt/${p.id}/out-0.png`, png, 'image/png');
        Object.assign(p, { status: 'succeeded', output: this.models[p.model]!.output === 'array' ? [url] : url });
      }
    }
  }

  /** The cog model's log so far: the seed line, then a tqdm line per poll up to step k/m of its steps. */
  private log(p: Prediction, k: number, m: number): void {
    const steps = Number.isInteger(p.input.num_inference_steps) ? (p.input.num_inference_steps as number) : 28;
    if (p.logs === '') p.logs = `Using seed: ${String(this.reportedSeed ?? p.input.seed ?? 1234)}\n`;
    const step = Math.max(1, Math.round((steps * k) / Math.max(1, m)));
    const pct = Math.round((100 * step) / steps);
    p.logs += `${String(pct).padStart(3)}%|${'█'.repeat(Math.round(pct / 10)).padEnd(10)}| ${step}/${steps} [00:01<00:02,  5.10it/s]\n`;
  }

  private view(p: Prediction) {
    const get = `${this.baseUrl}/v1/predictions/${p.id}`;
    return {
      id: p.id,
      model: p.model,
      version: p.version,
      input: p.input,
      logs: p.logs,
      output: p.output,
      data_removed: false,
      error: p.error,
      status: p.status,
      created_at: p.created_at,
      started_at: p.created_at,
      completed_at: p.completed_at,
      urls: { get, cancel: `${get}/cancel`, web: `https://replicate.com/p/${p.id}` },
      ...(p.status === 'succeeded' ? { metrics: { predict_time: 0.42 } } : {}),
    };
  }

  override reset(): void {
    super.reset();
    this.reportedSeed = null;
  }
}
