import type { JobRow } from '../jobs/row.js';
import type { ResultUrls } from '../jobs/result-urls.js';
import type { StoredImageResult, StoredResult } from '../jobs/types.js';
import type { StoredStoryResult } from '../story/stored.js';
import type { StoredProcessResult } from '../pipelines/process/types.js';
import { presentGenerationResult } from './present-generation.js';
import { presentStoryResult } from '../story/present.js';
import { presentProcessResult } from './present-process.js';
import { batchLinks } from '../batches/progress.js';

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

/** A job's stored result, parsed (once per view: the presenters below and params read the same object). */
export function storedResult(job: Pick<JobRow, 'result_json'>): StoredResult | null {
  return job.result_json ? (JSON.parse(job.result_json) as StoredResult) : null;
}

/** The stored result with freshly signed URLs; undefined when there is none (or of a kind this build does not know). */
export async function presentResult(urls: ResultUrls, jobId: string, r: StoredResult | null): Promise<Record<string, unknown> | undefined> {
  if (!r) return undefined;
  const present = RESULT_PRESENTERS[r.kind];
  return present ? present(urls, jobId, r as never) : undefined;
}
