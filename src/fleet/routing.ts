/** What routing knows of one backend when a call needs a slot. */
export interface BackendView {
  id: string;
  maxConcurrency: number;
  weight: number;
  healthy: boolean;
  inFlight: number;
  loadedModel: string | null;
  latencyEwmaMs: number | null;
}

export type Routing = 'sticky' | 'least_loaded';

/**
 * Picks the backend for one call, or null when none has a free slot.
 *
 * Least outstanding requests relative to capacity: among healthy backends below their
 * max_concurrency, the lowest (in flight + 1) ÷ (max_concurrency × weight) — so work spreads in
 * proportion to capacity, and a backend is never sent more than its limit. **Model-aware
 * stickiness** first narrows the choice to the backends that already have the call's model loaded,
 * when one of them has a free slot: a pool serving two checkpoints then keeps each on the backends
 * that hold it instead of making every GPU swap models back and forth. Ties go to the lower latency
 * (EWMA), then the id, so the choice is deterministic.
 */
export function chooseBackend(backends: readonly BackendView[], model: string | null, routing: Routing = 'sticky', exclude: ReadonlySet<string> = new Set()): BackendView | null {
  const free = backends.filter((b) => b.healthy && !exclude.has(b.id) && b.inFlight < b.maxConcurrency);
  if (free.length === 0) return null;
  const warm = routing === 'sticky' && model ? free.filter((b) => b.loadedModel === model) : [];
  const pool = warm.length > 0 ? warm : free;
  const load = (b: BackendView) => (b.inFlight + 1) / (b.maxConcurrency * Math.max(1, b.weight));
  return [...pool].sort((a, b) => load(a) - load(b) || (a.latencyEwmaMs ?? 0) - (b.latencyEwmaMs ?? 0) || (a.id < b.id ? -1 : 1))[0]!;
}
