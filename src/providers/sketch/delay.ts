import { JobFailure } from '../../errors.js';

/**
 * Waits ms unless the signal aborts first. The abort listener is removed when the time is up:
 * a story's steps share one signal, and listeners left behind by finished delays piled up into
 * MaxListenersExceededWarning (issue 24).
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new JobFailure('timeout', 'generation aborted', true));
    const onAbort = () => {
      clearTimeout(t);
      reject(new JobFailure('timeout', 'generation aborted', true));
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
