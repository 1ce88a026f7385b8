/**
 * Turns ComfyUI's WebSocket messages about one prompt into Easel's progress model (issue 22).
 *
 * Messages (server.py send_json: `{type, data}`; execution.py and main.py send them):
 *   status             {status: {exec_info: {queue_remaining}}, sid?}   queue changed (broadcast)
 *   execution_start    {prompt_id, timestamp}
 *   execution_cached   {nodes, prompt_id, timestamp}
 *   executing          {node, display_node?, prompt_id}   node null: the prompt is done (sent after
 *                      its history entry was written, whatever the outcome)
 *   progress           {value, max, prompt_id, node}      a node's progress bar (the sampler: per step)
 *   executed           {node, output, prompt_id}          an output node finished
 *   execution_success / execution_error / execution_interrupted   {prompt_id, …}
 * Binary frames: 4-byte big-endian event type (1 = PREVIEW_IMAGE), 4-byte image type (1 JPEG,
 * 2 PNG), then the image (server.py send_image); they carry no prompt id and go only to the
 * client id of the prompt running, so they are ours while our prompt executes.
 *
 * Mapping: accepted and not started → queued; started, no sampler yet → loading; a sampler
 * executing or its `progress` → sampling (step = value, steps = max); after sampling, or executed
 * / done → encoding. Only messages about OUR prompt id count; those that arrive before POST /prompt
 * answered with the id are held and replayed. A report is made only when something changed.
 */
import type { ProgressSink, ProgressStage, ProviderProgress } from '../port.js';
import { isSamplerNode } from './params.js';
import type { Workflow } from './workflow.js';

/** Messages held until our prompt id is known (a server's first messages come before that; a bound, never a leak). */
const EARLY_LIMIT = 256;

interface State {
  stage: ProgressStage;
  step?: number;
  steps?: number;
  fraction?: number;
}

export class ComfyProgressTracker {
  /** Resolves once ComfyUI said our prompt is done (`executing` null): its history entry is there. */
  readonly finished: Promise<void>;
  private promptId: string | null = null;
  private readonly early: Record<string, unknown>[] = [];
  private earlyPreview: Buffer | null = null;
  private started = false;
  private sampled = false;
  private failed = false;
  private done = false;
  private state: State | null = null;
  private markFinished!: () => void;

  constructor(
    private readonly workflow: Workflow,
    private readonly sink: ProgressSink,
  ) {
    this.finished = new Promise<void>((resolve) => (this.markFinished = resolve));
  }

  /** POST /prompt answered: from now on messages about `promptId` count; the held ones are replayed. */
  track(promptId: string): void {
    this.promptId = promptId;
    // The greeting `status` (sent on connect, so held) reports `queued` from here: nothing is reported without the socket.
    for (const m of this.early.splice(0)) this.onMessage(m);
    const preview = this.earlyPreview;
    this.earlyPreview = null;
    if (preview) this.onPreview(preview);
  }

  /** A text frame: one JSON message `{type, data}`. */
  onText(text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return; // not ComfyUI's; ignored
    }
    if (isObject(msg)) this.onMessage(msg);
  }

  /** A binary frame: only PREVIEW_IMAGE (1) with a JPEG/PNG image type is a preview. */
  onBinary(frame: Buffer): void {
    if (frame.length <= 8 || frame.readUInt32BE(0) !== 1) return;
    const imageType = frame.readUInt32BE(4);
    if (imageType !== 1 && imageType !== 2) return;
    this.onPreview(Buffer.from(frame.subarray(8)));
  }

  private onPreview(bytes: Buffer): void {
    if (this.promptId === null) {
      this.earlyPreview = bytes;
      return;
    }
    if (!this.started || this.done || this.failed || !this.state) return;
    this.emit(this.state, bytes);
  }

  private onMessage(msg: Record<string, unknown>): void {
    const type = msg.type;
    const data = isObject(msg.data) ? msg.data : {};
    if (this.promptId === null) {
      if (this.early.length < EARLY_LIMIT) this.early.push(msg);
      return;
    }
    if (typeof data.prompt_id === 'string' && data.prompt_id !== this.promptId) return; // another prompt's
    if (this.done) return;
    switch (type) {
      case 'status':
        if (!this.started) this.emit({ stage: 'queued' });
        return;
      case 'execution_start':
        this.started = true;
        this.emit({ stage: 'loading' });
        return;
      case 'executing':
        return this.onExecuting(data);
      case 'progress':
        return this.onProgress(data);
      case 'executed':
      case 'execution_success':
        this.started = true;
        if (!this.failed) this.emit({ ...this.carried(), stage: 'encoding' });
        return;
      case 'execution_error':
      case 'execution_interrupted':
        this.failed = true; // the history says what happened; nothing more to report
        return;
      default:
        return; // execution_cached, progress_state, crystools…: nothing for us
    }
  }

  private onExecuting(data: Record<string, unknown>): void {
    this.started = true;
    if (data.node === null || data.node === undefined) {
      this.done = true;
      if (!this.failed) this.emit({ ...this.carried(), stage: 'encoding' });
      this.markFinished();
      return;
    }
    const classType = this.workflow[String(data.node)]?.class_type;
    if (isSamplerNode(classType)) {
      this.sampled = true;
      this.emit({ ...this.carried(), stage: 'sampling' });
    } else if (classType !== undefined) {
      // Before any sampler: loaders and encoders. After: VAE decode, save.
      this.emit(this.sampled ? { ...this.carried(), stage: 'encoding' } : { stage: 'loading' });
    }
  }

  private onProgress(data: Record<string, unknown>): void {
    const value = data.value;
    const max = data.max;
    if (typeof value !== 'number' || typeof max !== 'number' || !Number.isFinite(value) || !Number.isFinite(max) || max <= 0) return;
    // Only a sampler's bar counts steps: a tiled VAE decode or an upscaler has a bar of its own.
    const classType = typeof data.node === 'string' ? this.workflow[data.node]?.class_type : undefined;
    if (classType !== undefined && !isSamplerNode(classType)) return;
    this.started = true;
    this.sampled = true;
    const step = Math.max(0, Math.min(Math.round(value), Math.round(max)));
    this.emit({ stage: 'sampling', step, steps: Math.round(max), fraction: Math.min(1, Math.max(0, value / max)) });
  }

  /** Step, steps and fraction reached so far (kept while encoding). */
  private carried(): Omit<State, 'stage'> {
    const s = this.state;
    return s ? { step: s.step, steps: s.steps, fraction: s.fraction } : {};
  }

  private emit(next: State, preview?: Buffer): void {
    const prev = this.state;
    const changed = !prev || prev.stage !== next.stage || prev.step !== next.step || prev.steps !== next.steps;
    if (!changed && !preview) return;
    this.state = { ...next };
    const p: ProviderProgress = { stage: next.stage };
    if (next.step !== undefined) p.step = next.step;
    if (next.steps !== undefined) p.steps = next.steps;
    if (next.fraction !== undefined) p.fraction = next.fraction;
    if (preview) p.preview = { bytes: preview };
    try {
      this.sink(p);
    } catch {
      // The sink promises not to throw; a progress report never fails a generation anyway.
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
