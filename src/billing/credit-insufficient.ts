import type { Db } from '../store/db.js';
import { EaselError } from '../errors.js';
import { microsToEur } from '../util/money.js';
import { balanceOf, hold } from './ledger.js';
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
  if (await hold(trx, accountId, jobId, micros)) {
    if (micros > 0) await checkSpendingCaps(trx, accountId, micros);
    return;
  }
  throw creditInsufficient((await balanceOf(trx, accountId)).available, micros, what);
}
