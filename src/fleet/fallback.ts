import type { ProviderOutput } from '../providers/port.js';
import type { Catalogue, ModelEntry } from '../providers/catalogue.js';
import { PoolUnavailable, type UnavailableReason } from './pool-unavailable.js';

/** Which model produced a job's image, when it was not the one requested (kept with the raw output). */
export interface RouteRecord {
  model: string;
  priceMicros: number;
  reroutedFrom: string;
  reason: UnavailableReason;
}

/**
 * Runs `call` on the requested model; when its pool cannot take the call (no healthy backend, or
 * busy past `overflow_after_s`), on each of its `fallbacks` in order — skipping any whose price is
 * above what the job holds (the client's allowance: max_cost_eur, else the requested model's price;
 * see Catalogue.holdFor). The job is charged the price of the model that ran; `route` says which.
 */
export async function withFallbacks(
  catalogue: Pick<Catalogue, 'byId'>,
  requested: ModelEntry,
  holdMicros: number,
  call: (m: ModelEntry) => Promise<ProviderOutput>,
): Promise<{ output: ProviderOutput; route: RouteRecord | null }> {
  try {
    return { output: await call(requested), route: null };
  } catch (e) {
    if (!(e instanceof PoolUnavailable) || requested.fallbacks.length === 0) throw e;
    let last: unknown = e;
    for (const id of requested.fallbacks) {
      const fb = catalogue.byId(id);
      if (!fb || fb.priceMicros > holdMicros) continue;
      try {
        return { output: await call(fb), route: { model: fb.id, priceMicros: fb.priceMicros, reroutedFrom: requested.id, reason: e.reason } };
      } catch (next) {
        if (!(next instanceof PoolUnavailable)) throw next;
        last = next;
      }
    }
    throw last;
  }
}
