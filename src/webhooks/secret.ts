import crypto from 'node:crypto';
import type { Db } from '../store/db.js';

/** A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes. */
export const newWebhookSecret = (): string => `whsec_${crypto.randomBytes(24).toString('base64')}`;

/** Seconds a replaced secret keeps signing after a rotation, unless the request says otherwise. */
export const DEFAULT_ROTATION_OVERLAP_S = 86_400;

/** The secrets an attempt made now is signed with: the current one, and the replaced one while it lasts. */
export function signingSecrets(w: { secret: string; previous_secret?: string | null; previous_secret_expires_at?: number | string | null }, now = Date.now()): string[] {
  const prevLasts = w.previous_secret != null && w.previous_secret_expires_at != null && Number(w.previous_secret_expires_at) > now;
  return prevLasts ? [w.secret, w.previous_secret!] : [w.secret];
}

/**
 * Replaces the account's secret; the old one keeps signing beside it for `overlapS` seconds (0: it
 * stops at once), so receivers can switch without rejecting a delivery in between. One UPDATE:
 * two rotations at once cannot lose the secret that was current.
 */
export async function rotateWebhookSecret(db: Db, accountId: string, overlapS: number): Promise<void> {
  const now = Date.now();
  await webhookSettings(db, accountId);
  await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      previous_secret: overlapS > 0 ? eb.ref('secret') : null,
      previous_secret_expires_at: overlapS > 0 ? now + overlapS * 1000 : null,
      secret: newWebhookSecret(),
      updated_at: now,
    }))
    .where('account_id', '=', accountId)
    .execute();
}

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
