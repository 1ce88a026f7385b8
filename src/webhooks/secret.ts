import crypto from 'node:crypto';
import type { Db } from '../store/db.js';
import { SecretBox } from './secret-box.js';

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
export async function rotateWebhookSecret(db: Db, box: SecretBox, accountId: string, overlapS: number): Promise<void> {
  const now = Date.now();
  await webhookSettings(db, box, accountId);
  await db
    .updateTable('webhook_endpoints')
    .set((eb) => ({
      previous_secret: overlapS > 0 ? eb.ref('secret') : null,
      previous_secret_expires_at: overlapS > 0 ? now + overlapS * 1000 : null,
      // The replaced secret moves to previous_secret sealed as it is (same account, same key).
      secret: box.seal(newWebhookSecret(), accountId),
      updated_at: now,
    }))
    .where('account_id', '=', accountId)
    .execute();
}

/**
 * The account's webhook settings row, created on first use with a fresh secret. Insert-or-ignore
 * then read, so two processes minting at once agree on one secret.
 */
export async function webhookSettings(db: Db, box: SecretBox, accountId: string) {
  const now = Date.now();
  await db
    .insertInto('webhook_endpoints')
    .values({ account_id: accountId, url: null, events_json: null, secret: box.seal(newWebhookSecret(), accountId), created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('account_id').doNothing())
    .execute();
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('account_id', '=', accountId).executeTakeFirstOrThrow();
  // Stored sealed; handed out and used to sign in the clear.
  return { ...row, secret: box.open(row.secret, accountId), previous_secret: row.previous_secret == null ? row.previous_secret : box.open(row.previous_secret, accountId) };
}

/**
 * Seals the webhook secrets still stored in the clear (rows from before issue 20), at start-up.
 * Idempotent and safe with several processes starting at once: each row is updated only while
 * it still holds the plaintext that was read. Also proves the key: a sealed row that does not
 * open means this process was given another key than the one the secrets were sealed with.
 */
export async function sealStoredWebhookSecrets(db: Db, box: SecretBox): Promise<number> {
  const rows = await db.selectFrom('webhook_endpoints').select(['account_id', 'secret', 'previous_secret']).execute();
  let sealed = 0;
  for (const r of rows) {
    if (SecretBox.isSealed(r.secret) && (r.previous_secret == null || SecretBox.isSealed(r.previous_secret))) continue;
    if (!SecretBox.isSealed(r.secret)) {
      const res = await db
        .updateTable('webhook_endpoints')
        .set({ secret: box.seal(r.secret, r.account_id) })
        .where('account_id', '=', r.account_id)
        .where('secret', '=', r.secret)
        .executeTakeFirst();
      sealed += Number(res.numUpdatedRows);
    }
    if (r.previous_secret != null && !SecretBox.isSealed(r.previous_secret)) {
      await db
        .updateTable('webhook_endpoints')
        .set({ previous_secret: box.seal(r.previous_secret, r.account_id) })
        .where('account_id', '=', r.account_id)
        .where('previous_secret', '=', r.previous_secret)
        .execute();
    }
  }
  const probe = rows.find((r) => SecretBox.isSealed(r.secret));
  if (probe) {
    try {
      box.open(probe.secret, probe.account_id);
    } catch {
      throw new Error(
        'the stored webhook secrets were encrypted with another key: give every process the same EASEL_SECRETS_KEY (or the same secrets.json webhook_encryption_key)',
      );
    }
  }
  return sealed;
}
