import type { ResultUrls } from '../jobs/result-urls.js';
import type { StoredProcessResult } from '../pipelines/process/types.js';

/**
 * A processing job's result in the processing response shape (the contract's four fields, then
 * Easel's additions), with a freshly signed URL on every read.
 */
export async function presentProcessResult(p: ResultUrls, jobId: string, r: StoredProcessResult): Promise<Record<string, unknown>> {
  const { url, expires_at } = await p.signedUrl(r.key);
  return {
    image_url: url,
    content_type: r.mime,
    expires_at,
    operation: r.operation,
    job_id: jobId,
    width: r.width,
    height: r.height,
    size_bytes: r.size_bytes,
    hash: r.hash,
  };
}
