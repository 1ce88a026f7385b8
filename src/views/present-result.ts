import type { JobRow } from '../jobs/row.js';
import type { ResultUrls } from '../jobs/result-urls.js';
import type { StoredImageResult, StoredResult } from '../jobs/types.js';
import type { StoredStoryResult } from '../story/stored.js';
import type { StoredProcessResult } from '../pipelines/process/types.js';
import { presentGenerationResult } from './present-generation.js';
import { presentStoryResult } from '../story/present.js';
import { presentProcessResult } from './present-process.js';
import { batchLinks } from '../batches/progress.js';
import { deepFreeze } from '../util/deep-freeze.js';

type ResultPresenter = (urls: ResultUrls, jobId: string, stored: never) => Promise<Record<string, unknown>>;

/** A completed job's `result`, by the kind its pipeline stored: a new kind of result is one row here. */
const RESULT_PRESENTERS: Record<string, ResultPresenter> = {
  image: (urls, id, r: StoredImageResult) => presentGenerationResult(urls, id, r),
  story: (urls, id, r: StoredStoryResult) => presentStoryResult(urls, id, r),
  process: (urls, id, r: StoredProcessResult) => presentProcessResult(urls, id, r),
  // A batch's result is its counts and links; its items' results are listed by the batch.
  batch: async (_urls, id, r: { items_total: number; items_completed: number; items_failed: number; items_canceled: number }) => ({
    items_total: r.items_total,
    items_completed: r.items_completed,
    items_failed: r.items_failed,
    items_canceled: r.items_canceled,
    ...batchLinks(id),
  }),
};

/**
 * Parsed results by job, with the text they were parsed from. A completed job's result text never
 * changes and a client polls the same one again and again: parsing it was ~6 % of a status poll's
 * CPU (issue 26). An entry serves only the very same text (compared in full, so a changed result
 * is parsed anew); keyed by the short job id, since hashing a long text as a Map key cost half
 * of what parsing it did. Frozen, because every view of that job shares the one object.
 */
const PARSED = new Map<string, { text: string; value: StoredResult }>();
const PARSED_MAX = 1024;
/** Bigger texts (a long story's) are parsed each time: they are rarely polled in a loop. */
const PARSED_MAX_CHARS = 16_384;

/** A job's stored result, parsed (once per view: the presenters below and params read the same object, which is frozen). */
export function storedResult(job: Pick<JobRow, 'id' | 'result_json'>): StoredResult | null {
  const text = job.result_json;
  if (!text) return null;
  const hit = PARSED.get(job.id);
  if (hit && hit.text === text) return hit.value;
  const value = deepFreeze(JSON.parse(text) as StoredResult);
  if (text.length <= PARSED_MAX_CHARS) {
    // Emptied when full, as BoundedMemo: never more than PARSED_MAX entries, no LRU bookkeeping.
    if (!hit && PARSED.size >= PARSED_MAX) PARSED.clear();
    PARSED.set(job.id, { text, value });
  }
  return value;
}

/** The stored result with freshly signed URLs; undefined when there is none (or of a kind this build does not know). */
export async function presentResult(urls: ResultUrls, jobId: string, r: StoredResult | null): Promise<Record<string, unknown> | undefined> {
  if (!r) return undefined;
  const present = RESULT_PRESENTERS[r.kind];
  return present ? present(urls, jobId, r as never) : undefined;
}
