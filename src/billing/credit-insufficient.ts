import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { microsToEur } from '../util/money.js';
import { balanceOf, holdMany } from './ledger.js';
import { checkSpendingCaps } from './spending-caps.js';

/** 402 credit_insufficient: the spendable balance does not cover the price of `what`. */
export function creditInsufficient(balanceMicros: number, priceMicros: number, what: 'request' | 'scene'): EaselError {
  return new EaselError(
    402,
    'credit_insufficient',
    `Your balance (EUR ${microsToEur(balanceMicros)}) cannot cover this ${what} (EUR ${microsToEur(priceMicros)}). Add credits and retry.`,
    { required_eur: microsToEur(priceMicros), balance_eur: microsToEur(balanceMicros) },
  );
}

/**
 * Holds `micros` for the job inside the caller's transaction, or throws 402 naming the balance
 * (or 402 spending_cap_reached when the hold would pass a daily or monthly cap)
 * (read in the same transaction, so the figure is the one the hold was refused against).
 */
export async function holdOrRefuse(trx: Db, accountId: string, jobId: string, micros: number, what: 'request' | 'scene'): Promise<void> {
  await holdManyOrRefuse(trx, accountId, [{ jobId, micros }], what);
}

/** The same for several jobs at once (a batch's items): all held, or 402 for their sum and none. */
export async function holdManyOrRefuse(trx: Db, accountId: string, holds: readonly { jobId: string; micros: number }[], what: 'request' | 'scene'): Promise<void> {
  const total = holds.reduce((a, h) => a + h.micros, 0);
  if (await holdMany(trx, accountId, holds)) {
    if (total > 0) await checkSpendingCaps(trx, accountId, total);
    return;
  }
  throw creditInsufficient((await balanceOf(trx, accountId)).available, total, what);
}
