import type { Db } from '../store/db.js';

export interface AccountSettingsView {
  retention_days: number | null;
  /** What applies now: retention_days, or the server default when it is null. */
  effective_retention_days: number;
}

/** The account's defaults that jobs pick up when their request does not say; `serverRetentionS` applies without one. */
export async function accountSettings(db: Db, accountId: string, serverRetentionS: number): Promise<AccountSettingsView> {
  const row = await db.selectFrom('accounts').select('retention_days').where('id', '=', accountId).executeTakeFirstOrThrow();
  const days = row.retention_days === null ? null : Number(row.retention_days);
  return { retention_days: days, effective_retention_days: days ?? serverRetentionS / 86_400 };
}

/** retention_days: null returns the account to the server default. Jobs already created keep theirs. */
export async function setAccountSettings(db: Db, accountId: string, settings: { retention_days: number | null }): Promise<void> {
  await db.updateTable('accounts').set({ retention_days: settings.retention_days }).where('id', '=', accountId).execute();
}
