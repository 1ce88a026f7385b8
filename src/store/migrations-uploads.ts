import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Uploads (issue 20): one row per stored upload, written before its blob. The daily quotas count
 * an account's rows of the current UTC day, and the retention sweeper deletes the blob then the row
 * once it is older than EASEL_UPLOAD_RETENTION_H (the row no earlier than the end of its UTC day),
 * so no uploaded file outlives its record.
 */
export const uploadMigrations: Record<string, Migration> = {
  '0012_uploads': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('uploads')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        // Set when the sweeper deleted the blob before the UTC day of the upload ended (a retention
        // under 24 h): the row stays until then, so the day's quota still counts the upload.
        .addColumn('blob_deleted_at', 'bigint')
        .execute();
      // The quota reads one account's rows of one day; the sweeper reads the oldest rows of all.
      await sql`create index uploads_account_day on uploads (account_id, created_at)`.execute(db);
      await sql`create index uploads_created on uploads (created_at)`.execute(db);
    },
  },
};
