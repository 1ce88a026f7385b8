/*
 * The time budget of one vendor generation, shared by the adapters that submit, poll and
 * download within it (fal, Replicate, BFL, A1111, ComfyUI).
 */
import { JobFailure } from '../../errors.js';

/**
 * The whole budget of one generation (submit, every poll, the download). Its `signal` aborts when
 * the time is up or when the caller's signal aborts (job canceled, worker shutting down); its
 * `reason` then says which, as a JobFailure a job can end with.
 */
export class Deadline {
  readonly at: number;
  private readonly ctrl = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.ctrl.abort(new JobFailure('timeout', `The ${this.vendor} request was aborted.`, true));

  constructor(
    readonly vendor: string,
    readonly timeoutMs: number,
    private readonly caller?: AbortSignal,
  ) {
    this.at = Date.now() + timeoutMs;
    this.timer = setTimeout(
      () => this.ctrl.abort(new JobFailure('timeout', `${vendor} did not deliver the image within ${timeoutMs >= 10_000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}.`, true)),
      timeoutMs,
    );
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.ctrl.signal;
  }

  remainingMs(): number {
    return Math.max(0, this.at - Date.now());
  }

  /** Throws the deadline's failure once it has fired. */
  check(): void {
    if (this.ctrl.signal.aborted) throw this.failure();
  }

  failure(): JobFailure {
    const r: unknown = this.ctrl.signal.reason;
    return r instanceof JobFailure ? r : new JobFailure('timeout', `${this.vendor} did not deliver the image in time.`, true);
  }

  /**
   * Settles with `p`, or rejects with the deadline's failure the moment it fires — even when `p`
   * is stuck in a retry sleep that does not watch the signal.
   */
  race<T>(p: Promise<T>): Promise<T> {
    if (this.ctrl.signal.aborted) {
      p.catch(() => {});
      return Promise.reject(this.failure());
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(this.failure());
      this.ctrl.signal.addEventListener('abort', onAbort, { once: true });
      p.then(
        (v) => {
          this.ctrl.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          this.ctrl.signal.removeEventListener('abort', onAbort);
          // Whatever a call reports after the deadline fired ("call aborted"), the deadline is the cause.
          reject(this.ctrl.signal.aborted ? this.failure() : e);
        },
      );
    });
  }

  /** Sleeps `ms`, cut short (with the deadline's failure) when the deadline fires first. */
  sleep(ms: number): Promise<void> {
    return this.race(new Promise<void>((r) => setTimeout(r, Math.min(ms, this.remainingMs()))));
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
