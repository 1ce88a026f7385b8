/**
 * Live progress for AUTOMATIC1111 (issue 22): `GET /sdapi/v1/progress?skip_current_image=false`
 * polled while our txt2img / img2img request is in flight (modules/api/api.py progressapi):
 *
 *   {progress: 0…1, eta_relative, state: {skipped, interrupted, job, job_count, job_timestamp,
 *    job_no, sampling_step, sampling_steps, …}, current_image: base64 PNG | null, textinfo}
 *
 * The webui's progress is global (one job at a time, no job id in this API): it is read only
 * while our request is in flight and the poll stops when the request returns, fails or is
 * aborted (its last poll aborted and awaited: no timer or request outlives the generation). An
 * idle webui answers job_count 0 with the LAST job's sampling_step / sampling_steps still set, so
 * only job_count > 0 with sampling_steps > 0 counts. Mapped to stage sampling with step / steps,
 * fraction = `progress`, and a preview whenever current_image changed. A report only when the
 * step or the image changed; a failed poll is skipped (retryable) or ends the polling (404 from a
 * webui without the route, 401).
 */
import { JobFailure } from '../../errors.js';
import type { ProgressSink, ProviderProgress } from '../port.js';

export const A1111_PROGRESS_PATH = '/sdapi/v1/progress?skip_current_image=false';

/**
 * Runs `request` while polling `poll` every `intervalMs` for its progress; resolves or rejects
 * as `request` does, once the polling has stopped.
 */
export async function withProgressPolling<T>(poll: (signal: AbortSignal) => Promise<unknown>, intervalMs: number, sink: ProgressSink, request: () => Promise<T>): Promise<T> {
  const stop = new AbortController();
  const loop = pollLoop(poll, intervalMs, new A1111ProgressMapper(sink), stop.signal);
  try {
    return await request();
  } finally {
    stop.abort();
    await loop;
  }
}

async function pollLoop(poll: (signal: AbortSignal) => Promise<unknown>, intervalMs: number, mapper: A1111ProgressMapper, signal: AbortSignal): Promise<void> {
  // The first poll after one interval: at once, the webui has not even received our request.
  while (await sleep(intervalMs, signal)) {
    let body: unknown;
    try {
      body = await poll(signal);
    } catch (e) {
      if (signal.aborted) return;
      if (e instanceof JobFailure && !e.retryable) return; // no such route, or not allowed: stop asking
      continue;
    }
    if (signal.aborted) return;
    mapper.onAnswer(body);
  }
}

/** false when aborted (the timer cleared), true after `ms`. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export class A1111ProgressMapper {
  private step: number | null = null;
  private steps: number | null = null;
  private image: string | null = null;

  constructor(private readonly sink: ProgressSink) {}

  onAnswer(body: unknown): void {
    if (!isObject(body) || !isObject(body.state)) return;
    const { job_count: jobCount, sampling_step: rawStep, sampling_steps: rawSteps } = body.state;
    if (typeof jobCount !== 'number' || jobCount <= 0) return; // idle, or between jobs
    if (typeof rawSteps !== 'number' || !Number.isFinite(rawSteps) || rawSteps <= 0) return;
    const steps = Math.round(rawSteps);
    const step = typeof rawStep === 'number' && Number.isFinite(rawStep) ? Math.max(0, Math.min(steps, Math.round(rawStep))) : 0;
    const image = typeof body.current_image === 'string' ? body.current_image.replace(/^data:image\/[a-z0-9.+-]+;base64,/i, '') : '';
    const newImage = image !== '' && image !== this.image && /^[A-Za-z0-9+/]+={0,2}$/.test(image);
    if (step === this.step && steps === this.steps && !newImage) return;
    this.step = step;
    this.steps = steps;
    const p: ProviderProgress = { stage: 'sampling', step, steps };
    const fraction = typeof body.progress === 'number' && Number.isFinite(body.progress) ? body.progress : step / steps;
    p.fraction = Math.max(0, Math.min(1, fraction));
    if (newImage) {
      this.image = image;
      p.preview = { bytes: Buffer.from(image, 'base64') };
    }
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
