import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { jobControlMigrations } from './migrations-job-control.js';
import { fairQueueMigrations } from './migrations-fair-queue.js';
import { fleetMigrations } from './migrations-fleet.js';
import { uploadMigrations } from './migrations-uploads.js';
import { jobLeaseMigrations } from './migrations-job-lease.js';
import { webhookMigrations } from './migrations-webhooks.js';
import { accountSettingsMigrations } from './migrations-account-settings.js';
import { keyNameMigrations } from './migrations-key-names.js';
import { webhookRotationMigrations } from './migrations-webhook-rotation.js';
import { keyScopeMigrations } from './migrations-key-scopes.js';
import { schedLaneMigrations } from './migrations-sched-lanes.js';
import { batchMigrations } from './migrations-batches.js';
import { progressMigrations } from './migrations-progress.js';
import { resultCacheMigrations } from './migrations-result-cache.js';
import { counterMigrations } from './migrations-counters.js';
import { sweepMigrations } from './migrations-sweep.js';

/**
 * Versioned migrations, written once for both dialects: only portable column types
 * (text, bigint, integer) and portable DDL, so PostgreSQL runs the same list.
 */
const migrations: Record<string, Migration> = {
  '0001_core': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('email', 'text')
        .addColumn('status', 'text', (c) => c.notNull().defaultTo('active'))
        .addColumn('strictness', 'text', (c) => c.notNull().defaultTo('normal'))
        .addColumn('available_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('held_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addCheckConstraint('accounts_available_nonneg', sql`available_micros >= 0`)
        .addCheckConstraint('accounts_held_nonneg', sql`held_micros >= 0`)
        .execute();

      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();

      await db.schema
        .createTable('jobs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('key_id', 'text')
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('model', 'text')
        .addColumn('request_json', 'text', (c) => c.notNull())
        .addColumn('result_json', 'text')
        .addColumn('error_code', 'text')
        .addColumn('error_message', 'text')
        .addColumn('scenes_total', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('scenes_completed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hold_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('charged_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('refunded_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('started_at', 'bigint')
        .addColumn('completed_at', 'bigint')
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_account_id_id').on('jobs').columns(['account_id', 'id']).execute();
      await db.schema.createIndex('jobs_account_status').on('jobs').columns(['account_id', 'status']).execute();

      await db.schema
        .createTable('job_steps')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('ordinal', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('output_json', 'text', (c) => c.notNull())
        .addColumn('cost_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_steps_pk', ['job_id', 'step'])
        .execute();

      await db.schema
        .createTable('ledger')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('job_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('delta_available', 'bigint', (c) => c.notNull())
        .addColumn('delta_held', 'bigint', (c) => c.notNull())
        .addColumn('note', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_account_id').on('ledger').columns(['account_id', 'id']).execute();
      await db.schema.createIndex('ledger_job_id').on('ledger').column('job_id').execute();

      await db.schema
        .createTable('queue_tasks')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('queue', 'text', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('lease_owner', 'text')
        .addColumn('lease_expires_at', 'bigint')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('queue_tasks_ready').on('queue_tasks').columns(['queue', 'run_at']).execute();
    },
  },
  // The request that created a job: API and worker logs join on it (issue #10, observability).
  '0002_job_request_id': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('request_id', 'text').execute();
    },
  },
  // Per-job event history: SSE replay (Last-Event-ID) and the webhook outbox read it (issue #7).
  '0003_job_events': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('job_events')
        .addColumn('job_id', 'text', (c) => c.notNull().references('jobs.id'))
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('data_json', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('job_events_pk', ['job_id', 'seq'])
        .execute();
    },
  },
  ...jobControlMigrations,
  ...webhookMigrations,
  ...accountSettingsMigrations,
  ...keyNameMigrations,
  ...webhookRotationMigrations,
  ...jobLeaseMigrations,
  ...fairQueueMigrations,
  ...fleetMigrations,
  ...keyScopeMigrations,
  ...uploadMigrations,
  ...schedLaneMigrations,
  ...batchMigrations,
  ...progressMigrations,
  ...resultCacheMigrations,
  ...counterMigrations,
  ...sweepMigrations,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
