/*
 * How an adapter hands progress to the caller's sink (issue 22): never after the generation was
 * given up, and never letting a misbehaving sink break a generation.
 */
import type { ProgressSink, ProviderProgress } from '../port.js';

/**
 * A sink that is safe to call from anywhere in an adapter: a no-op without a caller sink,
 * silent once `signal` has aborted (a canceled job must not show movement), and it swallows
 * whatever the sink throws — progress is a nicety, the image is the job.
 */
export function progressReporter(sink: ProgressSink | undefined, signal: AbortSignal): ProgressSink {
  if (!sink) return () => {};
  return (p: ProviderProgress) => {
    if (signal.aborted) return;
    try {
      sink(p);
    } catch {
      /* see above */
    }
  };
}

/** A fraction clamped to 0…1, or undefined when `v` is not a finite number. */
export function unitFraction(v: unknown): number | undefined {
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  return Math.min(1, Math.max(0, v));
}
