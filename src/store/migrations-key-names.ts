import type { Kysely, Migration } from 'kysely';

const COLUMNS = ['id', 'account_id', 'name', 'key_hash', 'prefix', 'created_at', 'revoked_at', 'last_used_at'] as const;

/**
 * Key names were unique across the whole server, so POST /v1/keys answered 409 for a name another
 * account had taken: a way to learn other tenants' key names. Names are now unique per account.
 * SQLite cannot drop a column's UNIQUE, so the table is rebuilt (portable DDL; no table references
 * api_keys, so nothing else has to move).
 */
export const keyNameMigrations: Record<string, Migration> = {
  '0007_key_names_per_account': {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('api_keys_rebuilt')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull().unique())
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db
        .insertInto('api_keys_rebuilt')
        .columns([...COLUMNS])
        .expression(db.selectFrom('api_keys').select([...COLUMNS]))
        .execute();
      await db.schema.dropTable('api_keys').execute();
      await db.schema.alterTable('api_keys_rebuilt').renameTo('api_keys').execute();
      await db.schema.createIndex('api_keys_account_name').on('api_keys').columns(['account_id', 'name']).unique().execute();
    },
  },
};
