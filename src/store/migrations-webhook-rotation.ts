import type { Kysely, Migration } from 'kysely';

/** The secret a rotation replaced, still signing (beside the new one) until it expires. */
export const webhookRotationMigrations: Record<string, Migration> = {
  '0008_webhook_secret_overlap': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('webhook_endpoints').addColumn('previous_secret', 'text').execute();
      await db.schema.alterTable('webhook_endpoints').addColumn('previous_secret_expires_at', 'bigint').execute();
    },
  },
};
