import type { Db } from '../store/db.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { accountUsage } from './usage.js';

/** The `user` of GET /v1/account/profile: balances, defaults, status and usage. */
export async function accountProfile(db: Db, driver: 'sqlite' | 'postgres', accountId: string) {
  const a = await db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
  return {
    id: a.id,
    name: a.name,
    email: a.email,
    created_at: isoSeconds(Number(a.created_at)),
    balance_eur: microsToEur(Number(a.available_micros)),
    held_eur: microsToEur(Number(a.held_micros)),
    // Contract fields Easel has no use for: credits do not expire and there is no credit line.
    credits_expire_at: null,
    credit_limit_cents: 0,
    // Account features of the hosted service a self-hosted server does not have: each says so (no
    // verification, 2FA, notices, prompt analysis, OAuth or free trial).
    email_verified: false,
    two_factor_enabled: false,
    pending_credit_notice: false,
    prompt_analysis_opt_in: false,
    providers: [] as string[],
    free_trial_pending_eur: null,
    strictness: a.strictness,
    status: a.status,
    usage: await accountUsage(db, driver, a.id),
  };
}
