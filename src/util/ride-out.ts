import { dependencyFault } from './dependency-fault.js';

/** The longest a worker waits for a dependency to come back before it gives its job back. */
export const RIDE_OUT_MAX_MS = 120_000;

/**
 * Runs `fn` again while it fails because a dependency is down (src/util/dependency-fault.ts), with
 * a growing pause (0.2 s … 2 s), until it succeeds, fails otherwise, the run is aborted (its claim
 * was lost, or the worker stops) or `maxMs` passed. For the work right after a paid provider call:
 * giving the job back there would throw the generated image away and pay for it again.
 */
export async function rideOut<T>(fn: () => Promise<T>, signal: AbortSignal, onFault?: (e: unknown) => void, maxMs = RIDE_OUT_MAX_MS): Promise<T> {
  const deadline = Date.now() + maxMs;
  for (let pause = 200; ; pause = Math.min(2000, pause * 2)) {
    try {
      return await fn();
    } catch (e) {
      if (!dependencyFault(e) || signal.aborted || Date.now() + pause > deadline) throw e;
      onFault?.(e);
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, pause);
        function done() {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}
