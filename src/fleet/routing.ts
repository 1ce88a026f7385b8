/** What routing knows of one backend when a call needs a slot. */
export interface BackendView {
  id: string;
  maxConcurrency: number;
  weight: number;
  healthy: boolean;
  inFlight: number;
  loadedModel: string | null;
  latencyEwmaMs: number | null;
  /** The models of its calls in flight (Fleet.acquire): what it is loading or running now, whatever it last finished. */
  running?: readonly string[];
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
 * that hold it instead of making every GPU swap models back and forth. A backend holds what its calls
 * in flight run (a call of another model running there means it is swapping: not warm), else what its
 * last call or probe left loaded. When no backend holding the model has a free slot, an idle backend
 * takes the load before a busy one. Ties go to the lower latency
 * (EWMA), then the id, so the choice is deterministic.
 */
export function chooseBackend(backends: readonly BackendView[], model: string | null, routing: Routing = 'sticky', exclude: ReadonlySet<string> = new Set()): BackendView | null {
  const free = backends.filter((b) => b.healthy && !exclude.has(b.id) && b.inFlight < b.maxConcurrency);
  if (free.length === 0) return null;
  const sticky = routing === 'sticky' && model !== null;
  // What a backend holds now: the model(s) of its calls in flight, else what its last call or probe left loaded.
  const holds = (b: BackendView) => (b.running && b.running.length > 0 ? b.running : b.loadedModel ? [b.loadedModel] : []);
  const warm = sticky ? free.filter((b) => holds(b).length > 0 && holds(b).every((m) => m === model)) : [];
  // No backend holding the model has a free slot: load it on an idle backend when there is one, rather
  // than next to calls of another model (that backend would swap checkpoints back and forth).
  const idle = sticky && warm.length === 0 ? free.filter((b) => b.inFlight === 0) : [];
  const pool = warm.length > 0 ? warm : idle.length > 0 ? idle : free;
  const load = (b: BackendView) => (b.inFlight + 1) / (b.maxConcurrency * Math.max(1, b.weight));
  return [...pool].sort((a, b) => load(a) - load(b) || (a.latencyEwmaMs ?? 0) - (b.latencyEwmaMs ?? 0) || (a.id < b.id ? -1 : 1))[0]!;
}
