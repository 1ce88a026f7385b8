import { EaselAbortError, EaselApiError, EaselConnectionError, EaselError, EaselJobFailedError, EaselTimeoutError } from './errors.js';
import { SseParser } from './sse.js';
import { TERMINAL_STATUSES, type Job } from './types.js';

export interface WaitOptions {
  /**
   * Called with the job whenever its status, scene counts or live `progress` change (and once at
   * the start). Over the event stream `progress` comes from `job.progress` events (at most 4 a
   * second); when polling, from each read of the job.
   */
  onProgress?: (job: Job) => void;
  signal?: AbortSignal;
  /** First polling interval; it grows ×1.5 while nothing changes, up to `maxPollIntervalMs`. Default 1000. */
  pollIntervalMs?: number;
  /** Default 5000. */
  maxPollIntervalMs?: number;
  /** `auto` (default): the event stream when the server has one, else polling. */
  transport?: 'auto' | 'sse' | 'poll';
  /** Give up (EaselTimeoutError) after this long. Default: wait as long as the job runs. */
  timeoutMs?: number;
  /** Event stream: reconnect after this long without a byte (servers send comments as keep-alives). Default 60 s. */
  sseIdleTimeoutMs?: number;
  /** Event stream: consecutive connections without an event before falling back to polling. Default 5. */
  sseMaxReconnects?: number;
}

/**
 * What waiting needs from a client (the Easel class has these members). Named here rather than
 * importing the class, so client.ts → wait.ts stays a one-way arrow.
 */
export interface JobWatchClient {
  getJob(id: string, o?: { signal?: AbortSignal }): Promise<Job>;
  /** The job's event stream, or null when the server has none. */
  openEventStream(id: string, lastEventId: string | undefined, signal: AbortSignal): Promise<Response | null>;
  /** Whether the server has event streams: learned on the first wait, undefined until then. */
  sseAvailable: boolean | undefined;
}

const isTerminal = (s: unknown) => TERMINAL_STATUSES.includes(s as Job['status']);

/**
 * The job fields an event carries. Easel's envelope is `{type, timestamp, data: {job_id, seq, job}}`
 * (the Standard Webhooks shape, the same as webhook bodies); a bare job object is taken as is.
 */
function jobFieldsOf(payload: Record<string, unknown>): Partial<Job> {
  const inner = payload.data as Record<string, unknown> | undefined;
  // A whole job replaces the progress known so far (none after a retry's job.started, say).
  if (inner && typeof inner === 'object' && inner.job && typeof inner.job === 'object') return { progress: undefined, ...(inner.job as Partial<Job>) };
  // `job.progress` carries the progress alone.
  if (payload.type === 'job.progress' && inner && typeof inner === 'object' && inner.progress && typeof inner.progress === 'object') {
    return { progress: inner.progress as Job['progress'] };
  }
  if ('type' in payload && 'data' in payload) return {};
  return payload as Partial<Job>;
}

/**
 * `job.completed` / `job.failed` (or a bare status name) → that terminal status. `job.canceled` is
 * Easel's event for a cancel, whose job shows `failed` (with `canceled: true`).
 */
function terminalOfEvent(name: string | undefined): Job['status'] | null {
  const status = name?.startsWith('job.') ? name.slice(4) : name;
  if (status === 'canceled') return 'failed';
  return isTerminal(status) ? (status as Job['status']) : null;
}

/** Resolves after `ms`, or rejects with EaselAbortError as soon as `signal` fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new EaselAbortError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new EaselAbortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Reports a job to `onProgress` only when something a progress display shows has changed. */
function progressReporter(onProgress: WaitOptions['onProgress']) {
  let last = '';
  return (job: Job): boolean => {
    const p = job.progress;
    // The preview's path, not its signature: the same frame is re-signed on every read.
    const live = p ? `${p.stage}|${p.step}|${p.steps}|${p.fraction}|${p.scene}|${p.queue_position}|${p.preview_url?.split('?')[0]}` : '';
    const key = `${job.status}|${job.scenes_completed}|${job.scenes_total}|${live}`;
    if (key === last) return false;
    last = key;
    onProgress?.(job);
    return true;
  };
}

function finish(job: Job): Job {
  if (job.status === 'completed') return job;
  throw new EaselJobFailedError(job);
}

export async function waitForJob(client: JobWatchClient, id: string, opts: WaitOptions = {}): Promise<Job> {
  const timeout = opts.timeoutMs !== undefined ? AbortSignal.timeout(opts.timeoutMs) : undefined;
  const signals = [opts.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length ? AbortSignal.any(signals) : new AbortController().signal;
  const report = progressReporter(opts.onProgress);
  try {
    const transport = opts.transport ?? 'auto';
    if (transport === 'sse' || (transport === 'auto' && client.sseAvailable !== false)) {
      const job = await overEvents(client, id, opts, signal, report);
      if (job) return finish(job);
      if (transport === 'sse') throw new EaselError('sse_unavailable', `The server offers no event stream for job ${id}.`);
    }
    return finish(await byPolling(client, id, opts, signal, report));
  } catch (e) {
    if (e instanceof EaselAbortError && timeout?.aborted && !opts.signal?.aborted) {
      throw new EaselTimeoutError(`Job ${id} did not finish within ${opts.timeoutMs} ms.`);
    }
    throw e;
  }
}

async function byPolling(client: JobWatchClient, id: string, opts: WaitOptions, signal: AbortSignal, report: (j: Job) => boolean): Promise<Job> {
  const first = opts.pollIntervalMs ?? 1000;
  const cap = Math.max(first, opts.maxPollIntervalMs ?? 5000);
  let interval = first;
  for (;;) {
    const job = await client.getJob(id, { signal });
    const changed = report(job);
    if (isTerminal(job.status)) return job;
    // Back off while nothing moves; snap back when something did, so progress stays live.
    interval = changed ? first : Math.min(cap, Math.round(interval * 1.5));
    await sleep(interval, signal);
  }
}

/**
 * Follows `GET /v1/jobs/{id}/events`. Each event's `data` is JSON; whatever job fields it carries
 * (`status`, `scenes_completed`, `scenes_total`, or a whole job) are merged into the job as known so
 * far, and an event named after a terminal status counts as that status. On a terminal status the
 * job is read once more (fresh signed URLs, the full result). A dropped stream is reopened with
 * `Last-Event-ID` after the server's `retry:` delay. Returns null when the server has no stream.
 */
async function overEvents(client: JobWatchClient, id: string, opts: WaitOptions, signal: AbortSignal, report: (j: Job) => boolean): Promise<Job | null> {
  const parser = new SseParser();
  const idleMs = opts.sseIdleTimeoutMs ?? 60_000;
  const maxReconnects = opts.sseMaxReconnects ?? 5;
  let job: Job = { job_id: id } as Job;
  let barren = 0; // consecutive connections that delivered no event
  for (let connection = 0; ; connection++) {
    if (connection > 0) {
      if (barren > maxReconnects) return null; // the stream is not working out; polling still will
      await sleep(Math.min(parser.retryMs ?? 1000, 30_000), signal);
    }
    const idle = new AbortController();
    const connSignal = AbortSignal.any([signal, idle.signal]);
    let timer = setTimeout(() => idle.abort(), idleMs);
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(), idleMs);
    };
    let gotEvent = false;
    try {
      let res: Response | null;
      try {
        res = await client.openEventStream(id, parser.lastEventId, connSignal);
      } catch (e) {
        if (signal.aborted) throw new EaselAbortError();
        if (e instanceof EaselConnectionError || e instanceof EaselAbortError || (e instanceof EaselApiError && (e.status === 429 || e.status >= 500))) {
          barren++;
          continue;
        }
        throw e;
      }
      if (!res) {
        if (connection === 0) client.sseAvailable = false;
        return null;
      }
      client.sseAvailable = true;
      touch();
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          touch();
          for (const ev of parser.push(value)) {
            gotEvent = true;
            let data: unknown;
            try {
              data = JSON.parse(ev.data);
            } catch {
              continue; // not a job update (a keep-alive or a human note)
            }
            // job.progress may come before job.started: it is merged only into a job known to be running.
            if (ev.event === 'job.progress' && job.status !== 'processing') continue;
            if (data && typeof data === 'object') job = { ...job, ...jobFieldsOf(data as Record<string, unknown>) };
            const named = terminalOfEvent(ev.event);
            if (!isTerminal(job.status) && named) job = { ...job, status: named };
            if (job.status !== undefined) report(job);
            if (isTerminal(job.status)) {
              await reader.cancel().catch(() => undefined);
              const final = await client.getJob(id, { signal });
              report(final);
              return final;
            }
          }
        }
      } catch (e) {
        if (signal.aborted) throw new EaselAbortError();
        if (e instanceof EaselError && !(e instanceof EaselConnectionError)) throw e;
        // The connection dropped or went idle: reconnect below.
      }
    } finally {
      clearTimeout(timer);
    }
    barren = gotEvent ? 0 : barren + 1;
  }
}
