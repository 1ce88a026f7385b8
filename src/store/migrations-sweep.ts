import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Retention at scale (issue 25): indexes that serve the sweeps' "what is due" reads, in both
 * dialects (partial indexes are portable between SQLite and PostgreSQL).
 * - jobs: only the jobs whose files are still kept are in the index, so the due query reads the
 *   oldest expiries of those and never walks the (ever-growing) history of jobs already swept. It
 *   replaces the full index on result_expires_at of 0004.
 * - idempotency_keys: the expiry, for the batched delete of keys past their 24 h (a full scan before).
 * - uploads: the rows whose blob is still stored, oldest first, as the upload sweep reads them.
 */
export const sweepMigrations: Record<string, Migration> = {
  '0019_sweep': {
    async up(db: Kysely<unknown>) {
      await sql`create index jobs_results_due on jobs (result_expires_at) where result_expired_at is null`.execute(db);
      // The sweeper was its only reader; over every job ever swept, it cost each completion a write and led planners astray.
      await sql`drop index jobs_result_expires_at`.execute(db);
      await sql`create index idempotency_keys_expires on idempotency_keys (expires_at)`.execute(db);
      await sql`create index uploads_blobs_due on uploads (created_at) where blob_deleted_at is null`.execute(db);
    },
  },
};
