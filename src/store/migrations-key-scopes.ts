import { sql, type Kysely, type Migration } from 'kysely';

/**
 * Key scopes (issue 20): every key was an admin key, so a key minted for a CI job could revoke the
 * operator's key or read the webhook signing secret. `scope` is `admin` (manages keys and account
 * settings) or `generate` (creates and reads jobs). Every key that exists when this runs keeps the
 * full power it had (`admin`), and so does every key the operator CLI creates (the column default);
 * keys minted through POST /v1/keys say their scope, `generate` unless asked otherwise.
 */
export const keyScopeMigrations: Record<string, Migration> = {
  '0013_key_scopes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable('api_keys')
        .addColumn('scope', 'text', (c) => c.notNull().defaultTo('admin').check(sql`scope in ('admin', 'generate')`))
        .execute();
    },
  },
};
