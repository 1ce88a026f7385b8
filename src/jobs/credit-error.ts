import type { Db } from '../store/db.js';
import { balanceOf } from '../billing/ledger.js';
import { EaselError } from '../errors.js';
import { microsToEur } from '../util/money.js';

/** The one 402: the balance cannot cover `requiredMicros` (for "this request", "this scene", …). */
export async function creditInsufficient(db: Db, accountId: string, requiredMicros: number, what = 'this request'): Promise<EaselError> {
  const bal = await balanceOf(db, accountId);
  return new EaselError(
    402,
    'credit_insufficient',
    `Your balance (EUR ${microsToEur(bal.available)}) cannot cover ${what} (EUR ${microsToEur(requiredMicros)}). Add credits and retry.`,
    { required_eur: microsToEur(requiredMicros), balance_eur: microsToEur(bal.available) },
  );
}
