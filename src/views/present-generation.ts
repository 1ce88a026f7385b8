import type { ResultUrls } from '../jobs/result-urls.js';
import type { StoredImageResult } from '../jobs/types.js';
import { microsToEur } from '../util/money.js';

/** An image job's result (generate, graphic, diagram, edit, combine): the generation response shape. */
export async function presentGenerationResult(urls: ResultUrls, jobId: string, r: StoredImageResult): Promise<Record<string, unknown>> {
  return {
    id: jobId,
    ai_generated: true,
    formats: await urls.formats(r.image),
    cost_eur: microsToEur(r.cost_micros),
    balance_eur: microsToEur(r.balance_after_micros),
    image_hash: r.image.image_hash,
    model: r.model,
  };
}
