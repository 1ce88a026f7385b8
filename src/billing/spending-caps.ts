import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { microsToEur } from '../util/money.js';
import { isoSeconds } from '../util/time.js';
import { spendPeriods, spendResets } from '../util/spend-periods.js';

export interface SpendingState {
  daily_cap_micros: number | null;
  monthly_cap_micros: number | null;
  /** Captured in the current UTC day / month. */
  spent_today_micros: number;
  spent_month_micros: number;
  /** Held by jobs in flight: counted against both caps until it is captured or released. */
  held_micros: number;
  daily_resets_at: number;
  monthly_resets_at: number;
}

/** The account's caps and what counts against them now (read inside the caller's transaction when it checks). */
export async function spendingState(db: Db, accountId: string, now = Date.now()): Promise<SpendingState> {
  const { day, month } = spendPeriods(now);
  const acct = await db.selectFrom('accounts').select(['daily_cap_micros', 'monthly_cap_micros', 'held_micros']).where('id', '=', accountId).executeTakeFirstOrThrow();
  const spent = await db.selectFrom('account_spend').select(['period', 'captured_micros']).where('account_id', '=', accountId).where('period', 'in', [day, month]).execute();
  const of = (p: string) => Number(spent.find((r) => r.period === p)?.captured_micros ?? 0);
  const resets = spendResets(now);
  return {
    daily_cap_micros: acct.daily_cap_micros == null ? null : Number(acct.daily_cap_micros),
    monthly_cap_micros: acct.monthly_cap_micros == null ? null : Number(acct.monthly_cap_micros),
    spent_today_micros: of(day),
    spent_month_micros: of(month),
    held_micros: Number(acct.held_micros),
    daily_resets_at: resets.day,
    monthly_resets_at: resets.month,
  };
}

/**
 * After a hold, inside its transaction: captured this day (month) + everything held now, the new
 * hold included, must stay within the daily (monthly) cap, else 402 spending_cap_reached and the
 * transaction — hold and job with it — rolls back. The hold has already locked the account's row,
 * so racing submits are checked one after another against exact figures.
 */
export async function checkSpendingCaps(trx: Db, accountId: string, requiredMicros: number): Promise<void> {
  // Most accounts have no cap: every submit passes through here, so they cost one primary-key read.
  const caps = await trx.selectFrom('accounts').select(['daily_cap_micros', 'monthly_cap_micros']).where('id', '=', accountId).executeTakeFirst();
  if (caps?.daily_cap_micros == null && caps?.monthly_cap_micros == null) return;
  const s = await spendingState(trx, accountId);
  for (const cap of ['daily', 'monthly'] as const) {
    const limit = cap === 'daily' ? s.daily_cap_micros : s.monthly_cap_micros;
    if (limit === null) continue;
    const spent = cap === 'daily' ? s.spent_today_micros : s.spent_month_micros;
    if (spent + s.held_micros <= limit) continue;
    const resets = cap === 'daily' ? s.daily_resets_at : s.monthly_resets_at;
    throw new EaselError(
      402,
      'spending_cap_reached',
      `This would pass the account's ${cap} spending cap of EUR ${microsToEur(limit)} (spent EUR ${microsToEur(spent)}, in flight EUR ${microsToEur(s.held_micros - requiredMicros)}); it resets at ${isoSeconds(resets)}.`,
      {
        cap,
        cap_eur: microsToEur(limit),
        spent_eur: microsToEur(spent),
        held_eur: microsToEur(s.held_micros - requiredMicros),
        required_eur: microsToEur(requiredMicros),
        resets_at: isoSeconds(resets),
      },
    );
  }
}

/** Inside a capture's transaction: the money counts toward the day and month it was captured in. */
export async function recordSpend(trx: Db, accountId: string, micros: number, now = Date.now()): Promise<void> {
  const { day, month } = spendPeriods(now);
  for (const period of [day, month]) {
    await trx
      .insertInto('account_spend')
      .values({ account_id: accountId, period, captured_micros: micros })
      .onConflict((oc) => oc.columns(['account_id', 'period']).doUpdateSet({ captured_micros: sql`account_spend.captured_micros + ${micros}` }))
      .execute();
  }
}
