import crypto from 'node:crypto';
import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';
import type { JobParams } from '../jobs/types.js';

/**
 * The seed-aware result cache (issue 22). A cacheable model's provider is deterministic (checked
 * when the catalogue loads), so a request that sends the backend exactly what an earlier one sent
 * gets the same pixels: the earlier job's raw output can stand for a new call. Entries point at a
 * job's kept raw output (`jobs/<id>/raw/image.png`); money never moves here (the caller's complete
 * transition captures the cache price).
 */

/** Everything that decides the pixels of a single-image job, as its pipeline resolved it. */
export interface CacheKeyParts {
  operation: string;
  model: string;
  /** A new adapter version may draw differently: its entries never serve another version. */
  adapter: string | null;
  /** The prompt as sent (after the template) and the content spec the renderer draws from. */
  prompt: string;
  content: unknown;
  width: number;
  height: number;
  seed: number;
  /** What changes the pixels after the provider call: exact output size, mask, transparent cut-out. */
  pixelSize: { width: number; height: number } | null;
  knockOut: boolean;
  /** Input images (edit, combine), references and the mask, in order: only their bytes' hashes enter the key. */
  images: { role: string; bytes: Buffer; description?: string }[];
}

const sha256 = (b: Buffer | string) => crypto.createHash('sha256').update(b).digest('hex');

/** The key: a SHA-256 of a canonical JSON of the parts (fixed field order, images by hash). */
export function cacheKey(p: CacheKeyParts): string {
  const canonical = JSON.stringify([
    'easel-result-cache/1',
    p.operation,
    p.model,
    p.adapter,
    p.prompt,
    p.content,
    p.width,
    p.height,
    p.seed,
    p.pixelSize ? [p.pixelSize.width, p.pixelSize.height] : null,
    p.knockOut,
    p.images.map((i) => [i.role, sha256(i.bytes), i.description ?? null]),
  ]);
  return sha256(canonical);
}

/** Per account, unless the operator shares the model's cache (cache_shared) across accounts. */
export function cacheScope(accountId: string, shared: boolean): string {
  return shared ? 'shared' : accountId;
}

export interface CacheHit {
  bytes: Buffer;
  params: JobParams;
  jobId: string;
}

/** The kept result for this key, when its blob still exists (a swept blob is a miss). */
export async function lookupResult(db: Db, blob: BlobStore, scope: string, key: string): Promise<CacheHit | null> {
  const row = await db.selectFrom('result_cache').select(['raw_key', 'params_json', 'job_id']).where('scope', '=', scope).where('key_hash', '=', key).executeTakeFirst();
  if (!row) return null;
  const bytes = await blob.get(row.raw_key);
  if (!bytes) return null;
  return { bytes, params: JSON.parse(row.params_json) as JobParams, jobId: row.job_id };
}

/** Records (or replaces a stale) entry: this job's raw output now answers the key. */
export async function recordResult(db: Db, entry: { scope: string; key: string; model: string; jobId: string; rawKey: string; params: JobParams }): Promise<void> {
  const values = { scope: entry.scope, key_hash: entry.key, model: entry.model, job_id: entry.jobId, raw_key: entry.rawKey, params_json: JSON.stringify(entry.params), created_at: Date.now() };
  await db
    .insertInto('result_cache')
    .values(values)
    .onConflict((oc) => oc.columns(['scope', 'key_hash']).doUpdateSet({ model: values.model, job_id: values.job_id, raw_key: values.raw_key, params_json: values.params_json, created_at: values.created_at }))
    .execute();
}
