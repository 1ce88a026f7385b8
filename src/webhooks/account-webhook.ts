import type { Db } from '../store/db.js';
import { webhookSettings } from './secret.js';
import type { SecretBox } from './secret-box.js';

/**
 * Sets the account's default webhook (url null: off; events null: every type). The settings row
 * is created first if need be, so the account's signing secret exists before the URL is used.
 */
export async function setAccountWebhook(db: Db, box: SecretBox, accountId: string, w: { url: string | null; events: string[] | null | undefined }): Promise<void> {
  await webhookSettings(db, box, accountId);
  await db
    .updateTable('webhook_endpoints')
    .set({ url: w.url, events_json: w.events ? JSON.stringify(w.events) : null, updated_at: Date.now() })
    .where('account_id', '=', accountId)
    .execute();
}
