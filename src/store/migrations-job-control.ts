import type { Kysely, Migration } from 'kysely';

/**
 * Issue 7, part A (job control): cancel requests, metadata, money limits, retention and scene
 * retries. Portable DDL only (SQLite and PostgreSQL run the same statements).
 */
export const jobControlMigrations: Record<string, Migration> = {
  '0004_job_control': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('cancel_requested_at', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('metadata_json', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('max_cost_micros', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('retention_s', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('result_expires_at', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('result_expired_at', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('retry_scene', 'integer').execute();
      // The sweeper's scan: terminal jobs whose retention ended and whose files are still there.
      await db.schema.createIndex('jobs_result_expires_at').on('jobs').column('result_expires_at').execute();
      // ETA: recent completions of one operation and model.
      await db.schema.createIndex('jobs_status_operation').on('jobs').columns(['status', 'operation', 'completed_at']).execute();

      // One row per metadata pair, so GET /v1/jobs can filter on key and value with an index.
      await db.schema
        .createTable('job_metadata')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_metadata_pk', ['job_id', 'key'])
        .execute();
      await db.schema.createIndex('job_metadata_lookup').on('job_metadata').columns(['account_id', 'key', 'value']).execute();
    },
  },
};
