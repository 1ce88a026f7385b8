import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Batches (issue 21). A batch is a job (`operation: "batch"`) whose items are jobs of their own,
 * each naming its batch (`jobs.batch_id`, `jobs.batch_index`): an item is scheduled, leased,
 * retried, charged and settled exactly as a single job is. The `batches` row keeps what a poll of
 * the batch shows without counting its items: how many ended each way, and the money of all items
 * (the ledger rows stay on the items, so the ledger remains the one truth per job).
 */
export const batchMigrations: Record<string, Migration> = {
  '0015_batches': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('jobs').addColumn('batch_id', 'text').execute();
      await db.schema.alterTable('jobs').addColumn('batch_index', 'integer').execute();
      // A batch's items in order, optionally of one status (GET /v1/batches/{id}/items).
      await sql`create index jobs_batch_items on jobs (batch_id, batch_index) where batch_id is not null`.execute(db);
      await sql`create index jobs_batch_status on jobs (batch_id, status, batch_index) where batch_id is not null`.execute(db);
      // Job lists and the backlog bound read an account's own jobs, never a batch's items: these
      // indexes hold only the former, so a 1 000-item batch costs a list or a submit nothing.
      await sql`create index jobs_account_top_id on jobs (account_id, id) where batch_id is null`.execute(db);
      await sql`create index jobs_account_top_status on jobs (account_id, status) where batch_id is null`.execute(db);
      await db.schema
        .createTable('batches')
        .addColumn('job_id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('items_total', 'integer', (c) => c.notNull())
        .addColumn('items_completed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('items_failed', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('items_canceled', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hold_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('charged_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('refunded_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        // Failure codes of failed items, {code: count}: the batch's own error names the common one.
        .addColumn('failure_codes_json', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
};
