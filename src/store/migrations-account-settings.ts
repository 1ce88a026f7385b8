import type { Kysely, Migration } from 'kysely';

/** Per-account defaults (issue 7: retention "per account default, per request override"). */
export const accountSettingsMigrations: Record<string, Migration> = {
  '0006_account_retention': {
    async up(db: Kysely<unknown>) {
      // null: the server's EASEL_RETENTION_DAYS applies.
      await db.schema.alterTable('accounts').addColumn('retention_days', 'integer').execute();
    },
  },
};
