import type { Kysely, Migration } from 'kysely';

/**
 * The seed-aware result cache (issue 22): for a model the operator made `cacheable`, one row per
 * distinct request (everything that decides the pixels, hashed: src/pipelines/result-cache.ts) and
 * scope — the account, or `shared` for a model with `cache_shared` — pointing at the raw output kept
 * by the job that produced it. The blob is the truth: an entry whose blob the retention sweep
 * deleted is a miss, and the next identical request replaces it.
 */
export const resultCacheMigrations: Record<string, Migration> = {
  '0017_result_cache': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('result_cache')
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('model', 'text', (c) => c.notNull())
        .addColumn('job_id', 'text', (c) => c.notNull())
        .addColumn('raw_key', 'text', (c) => c.notNull())
        .addColumn('params_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('result_cache_pk', ['scope', 'key_hash'])
        .execute();
    },
  },
};
