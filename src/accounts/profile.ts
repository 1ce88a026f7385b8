import type { Db } from '../store/db.js';
import { spendingState } from '../billing/spending-caps.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { accountUsage } from './usage.js';
import { liveWork } from './scheduling.js';

/** The `user` of GET /v1/account/profile: balances, defaults, status and usage. */
export async function accountProfile(db: Db, accountId: string, limits: { maxRunningJobs: number; maxQueuedJobs: number }) {
  const a = await db.selectFrom('accounts').selectAll().where('id', '=', accountId).executeTakeFirstOrThrow();
  const spend = await spendingState(db, accountId);
  const work = (await liveWork(db, accountId)).get(accountId);
  const eurOrNull = (m: number | null) => (m === null ? null : microsToEur(m));
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
    usage: await accountUsage(db, a.id),
    spending: {
      daily_cap_eur: eurOrNull(spend.daily_cap_micros),
      monthly_cap_eur: eurOrNull(spend.monthly_cap_micros),
      spent_today_eur: microsToEur(spend.spent_today_micros),
      spent_this_month_eur: microsToEur(spend.spent_month_micros),
      held_eur: microsToEur(spend.held_micros),
      daily_resets_at: isoSeconds(spend.daily_resets_at),
      monthly_resets_at: isoSeconds(spend.monthly_resets_at),
    },
    scheduling: {
      weight: Number(a.weight),
      max_running_jobs: limits.maxRunningJobs,
      max_queued_jobs: limits.maxQueuedJobs,
      running: work?.running ?? 0,
      queued: work?.queued ?? 0,
    },
  };
}
