/**
 * The call's signal or `ms`, whichever ends first, held by a plain timer. Not
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])`: Node holds a timeout signal that only a
 * composite signal references weakly, and under GC pressure (the full suite) it was collected
 * and never fired — a stalled stream then ran past its timeout (node --expose-gc shows it: the
 * composite never aborts once the timeout signal is collected). Call `release` when done.
 */
export function callTimeout(ms: number, outer: AbortSignal | undefined): { signal: AbortSignal; release: () => void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  const onAbort = () => ac.abort(outer!.reason);
  if (outer?.aborted) ac.abort(outer.reason);
  else outer?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: ac.signal,
    release: () => {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onAbort);
    },
  };
}
