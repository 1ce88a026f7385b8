import fs from 'node:fs';
import type { GenerateInput, ImageProvider, ProviderCapabilities, ProviderOutput } from './port.js';
import { renderSketch } from './sketch/render.js';
import { JobFailure } from '../errors.js';

export interface SketchOptions {
  /** Simulated vendor latency, so billing and timing paths behave as with a paid vendor. */
  latencyMs: number;
  multiturn: boolean;
  /** When set, one line per call is appended (crash tests count provider calls with it). */
  callLog: string | null;
  /** Simulated vendor outage: this many calls (process-wide, first ones) fail as a retryable 503. */
  failures: { remaining: number };
}

/** The offline local renderer behind the provider port: no network, no GPU, deterministic. */
export class SketchProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;

  constructor(
    readonly id: string,
    private readonly opts: SketchOptions,
  ) {
    this.capabilities = { operations: ['generate'], multiturn: opts.multiturn, maxConcurrency: 8 };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    if (this.opts.callLog) {
      fs.appendFileSync(this.opts.callLog, `${JSON.stringify({ provider: this.id, prompt: input.prompt, seed: input.seed, pid: process.pid })}\n`);
    }
    if (this.opts.latencyMs > 0) await abortableDelay(this.opts.latencyMs, input.signal);
    if (this.opts.failures.remaining > 0) {
      this.opts.failures.remaining--;
      throw new JobFailure('upstream_error', 'The model provider answered 503 (simulated outage).', true);
    }
    const bytes = await renderSketch({
      prompt: input.prompt,
      seed: input.seed,
      width: input.width,
      height: input.height,
      figures: input.figures?.map((f) => ({ key: f.key, appearance: f.appearance })),
      portrait: input.portrait,
    });
    return { bytes, mime: 'image/png' };
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new JobFailure('timeout', 'generation aborted', true));
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(new JobFailure('timeout', 'generation aborted', true));
    }, { once: true });
  });
}
