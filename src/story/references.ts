import type { PipelineDeps } from '../pipelines/context.js';
import type { StoryPlan } from './plan.js';
import { storyKeys } from './stored.js';
import { mapLimit } from '../util/map-limit.js';

/** Client reference downloads in parallel. */
const FETCH_CONCURRENCY = 4;

export interface ClientReferences {
  /** By reference slot (characters and states). */
  slots: Map<number, Buffer>;
  /** By location index. */
  locations: Map<number, Buffer>;
}

/**
 * Downloads the client's reference images once and keeps a copy with the job, so a resumed run
 * neither downloads them again nor depends on the client's URL still working. Our own signed URLs
 * are read from storage; every other URL goes through the guarded fetcher (InputResolver). A URL
 * that cannot be used fails the job as `reference_unavailable`, naming its request path.
 */
export async function fetchClientReferences(deps: PipelineDeps, jobId: string, plan: StoryPlan, signal: AbortSignal): Promise<ClientReferences> {
  const out: ClientReferences = { slots: new Map(), locations: new Map() };
  const wanted = [
    ...plan.slots.filter((s) => s.clientUrl).map((s) => ({ url: s.clientUrl!, path: `${s.path}.reference_url`, key: `slot-${s.index}`, into: out.slots, at: s.index })),
    ...plan.locations.filter((l) => l.clientUrl).map((l) => ({ url: l.clientUrl!, path: `${l.path}.reference_url`, key: `location-${l.index}`, into: out.locations, at: l.index })),
  ];
  await mapLimit(wanted, FETCH_CONCURRENCY, async (w) => {
    const key = storyKeys.clientRef(jobId, w.key);
    let bytes = await deps.blob.get(key);
    if (!bytes) {
      bytes = await deps.inputs.fetch(w.url, w.path, signal);
      await deps.blob.put(key, bytes, 'application/octet-stream');
    }
    w.into.set(w.at, bytes);
  });
  return out;
}
