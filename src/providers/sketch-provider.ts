import fs from 'node:fs';
import type { CombineInput, EditInput, GenerateInput, ImageProvider, ProviderCapabilities, ProviderOutput } from './port.js';
import { renderSketch } from './sketch/render.js';
import { renderSketchEdit } from './sketch/edit.js';
import { renderSketchCombine } from './sketch/combine.js';
import { JobFailure } from '../errors.js';
import { sampleSteps } from './sketch/progress.js';
import { abortableDelay } from './sketch/delay.js';
import { imageWork } from '../imaging/image-work.js';

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
  /** Recorded in every job's `params.adapter`: bump it when the same input would draw different pixels. */
  readonly adapterVersion = 'sketch/1';

  constructor(
    readonly id: string,
    private readonly opts: SketchOptions,
  ) {
    // The renderer can do all three; which ones a catalogue model offers is the catalogue's choice
    // (the built-in easel-sketch-fast stays generate-only).
    // Deterministic: same input, same pixels, so a catalogue model on it may be `cacheable` (issue 22).
    this.capabilities = { operations: ['generate', 'edit', 'combine'], multiturn: opts.multiturn, maxConcurrency: 8, deterministic: true };
  }

  /** Rendering time per megapixel, averaged over this provider's calls (for `call`'s timing). */
  private msPerMegapixel = 0;

  /**
   * What every call shares: the call log, the simulated outage and the simulated latency. A call
   * takes the configured latency in all, rendering included, as a vendor's answer time includes
   * its own rendering, so a benchmark's critical path (steps × latency) is what the provider took.
   * The rendering is done at the end of that time, as a vendor's is: a call waiting on the
   * provider holds no pixels (100 calls in flight must not look like 100 finished renders).
   */
  private async call(input: GenerateInput | EditInput | CombineInput, draw: (width: number, height: number) => Promise<Buffer>): Promise<ProviderOutput> {
    const render = () => draw(input.width, input.height);
    const started = performance.now();
    if (this.opts.callLog) {
      fs.appendFileSync(this.opts.callLog, `${JSON.stringify({ provider: this.id, prompt: input.prompt, seed: input.seed, pid: process.pid })}\n`);
    }
    if (input.signal.aborted) throw new JobFailure('timeout', 'generation aborted', true);
    if (this.opts.failures.remaining > 0) {
      if (this.opts.latencyMs > 0) await abortableDelay(this.opts.latencyMs, input.signal);
      if (this.opts.failures.remaining > 0) {
        this.opts.failures.remaining--;
        throw new JobFailure('upstream_error', 'The model provider answered 503 (simulated outage).', true);
      }
    }
    const megapixels = (input.width * input.height) / 1e6;
    const lead = this.opts.latencyMs - this.msPerMegapixel * megapixels;
    // Progress (issue 22): the waiting time is spent in steps, with coarse-to-fine frames.
    if (lead > 0 && input.onProgress) await sampleSteps(lead, input.signal, input.onProgress, draw, input);
    else if (lead > 0) await abortableDelay(lead, input.signal);
    // The offline renderer draws in this process: one image-work slot, as any other decode or encode.
    let perMp = 0;
    const bytes = await imageWork('render', async () => {
      const renderStarted = performance.now();
      const out = await render();
      perMp = (performance.now() - renderStarted) / Math.max(megapixels, 0.01);
      return out;
    });
    this.msPerMegapixel = this.msPerMegapixel === 0 ? perMp : 0.8 * this.msPerMegapixel + 0.2 * perMp;
    const left = this.opts.latencyMs - (performance.now() - started);
    if (left > 0) await abortableDelay(left, input.signal);
    // The renderer takes the seed it was sent and has no steps, sampler or guidance.
    return { bytes, mime: 'image/png', params: { vendor_model: this.id, seed: input.seed } };
  }

  async generate(input: GenerateInput): Promise<ProviderOutput> {
    const c = input.content;
    return this.call(input, (width, height) => renderSketch({
      // The client's own words: templates are for vendor models, not for the renderer.
      prompt: c?.subject ?? input.prompt,
      ...(c && c.kind !== 'image' ? { style: c.kind, diagramType: c.diagramType, transparent: c.transparentBackground } : {}),
      seed: input.seed,
      width,
      height,
      figures: input.figures?.map((f) => ({ key: f.key, appearance: f.appearance })),
      portrait: input.portrait,
    }));
  }

  /** Applies the instruction to the input deterministically (see sketch/edit.ts). */
  async edit(input: EditInput): Promise<ProviderOutput> {
    const c = input.content;
    return this.call(input, (width, height) => renderSketchEdit({
      image: input.image.bytes,
      instruction: c?.subject ?? input.prompt,
      seed: input.seed,
      width,
      height,
      style: c?.kind,
      transparent: c?.transparentBackground,
    }));
  }

  /** Tiles the inputs as the prompt arranges them (see sketch/combine.ts). */
  async combine(input: CombineInput): Promise<ProviderOutput> {
    const c = input.content;
    return this.call(input, (width, height) => renderSketchCombine({
      images: input.images.map((i) => i.bytes),
      prompt: c?.subject ?? input.prompt,
      seed: input.seed,
      width,
      height,
      style: c?.kind,
      transparent: c?.transparentBackground,
    }));
  }
}
