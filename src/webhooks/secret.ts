import crypto from 'node:crypto';
import type { Db } from '../store/db.js';

/** A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export const newWebhookSecret = (): string => `whsec_${crypto.randomBytes(24).toString('base64')}`;

/**
 * The account's webhook settings row, created on first use with a fresh secret. Insert-or-ignore
 * then read, so two processes minting at once agree on one secret.
 */
export async function webhookSettings(db: Db, accountId: string) {
  const now = Date.now();
  await db
    .insertInto('webhook_endpoints')
    .values({ account_id: accountId, url: null, events_json: null, secret: newWebhookSecret(), created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('account_id').doNothing())
    .execute();
  return db.selectFrom('webhook_endpoints').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
}
