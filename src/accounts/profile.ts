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
    strictness: a.strictness,
    status: a.status,
    usage: await accountUsage(db, driver, a.id),
  };
}
