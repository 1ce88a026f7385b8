import type { Command } from 'commander';
import type { Db } from '../store/db.js';
import { OperatorError } from '../accounts/accounts.js';
import { listScheduling, setScheduling, WEIGHT_MAX } from '../accounts/scheduling.js';
import { eurToMicros, microsToEur } from '../util/money.js';

type WithDb = <T>(fn: (db: Db) => Promise<T>) => Promise<T>;

/** A cap in EUR, or `none` to clear it. */
function parseCap(flag: string, v: string): number | null {
  if (v === 'none' || v === 'off') return null;
  try {
    const m = eurToMicros(v);
    if (m <= 0) throw new Error();
    return m;
  } catch {
    throw new OperatorError(`${flag} takes a positive EUR amount (e.g. 25 or 2.50), or "none" to remove the cap`);
  }
}

const eurOrDash = (m: number | null) => (m === null ? '-' : microsToEur(m));

/** `easel accounts list | set`: the fair scheduler's weights and the spending caps (issue 18). */
export function registerAccountCommands(program: Command, withDb: WithDb): void {
  const accounts = program.command('accounts').description("accounts: their share of the workers and their spending caps");
  accounts
    .command('list')
    .description('every account: weight, caps and spending (UTC day and month), balance, jobs running and queued')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const rows = await withDb((db) => listScheduling(db));
      const view = rows.map((r) => ({
        account: r.name,
        id: r.id,
        status: r.status,
        weight: r.weight,
        daily_cap_eur: eurOrDash(r.daily_cap_micros),
        spent_today_eur: microsToEur(r.spent_today_micros),
        monthly_cap_eur: eurOrDash(r.monthly_cap_micros),
        spent_month_eur: microsToEur(r.spent_month_micros),
        balance_eur: microsToEur(r.available_micros),
        held_eur: microsToEur(r.held_micros),
        running: r.running,
        queued: r.queued,
      }));
      if (o.json) console.log(JSON.stringify(view, null, 2));
      else if (view.length === 0) console.log('no accounts');
      else console.table(view);
    });
  accounts
    .command('set <account>')
    .description('set an account\'s weight (its share of the workers when accounts compete) and spending caps (captured + held, per UTC day and month)')
    .option('--weight <n>', `1–${WEIGHT_MAX}; an account of weight 2 gets twice the workers of one of weight 1 while both have work`)
    .option('--daily-cap-eur <eur>', 'most the account may spend per UTC day, or "none"')
    .option('--monthly-cap-eur <eur>', 'most the account may spend per UTC month, or "none"')
    .action(async (account: string, o: { weight?: string; dailyCapEur?: string; monthlyCapEur?: string }) => {
      if (o.weight !== undefined && !/^\d+$/.test(o.weight)) throw new OperatorError(`--weight must be a whole number from 1 to ${WEIGHT_MAX}`);
      const row = await withDb((db) =>
        setScheduling(db, account, {
          ...(o.weight !== undefined ? { weight: Number(o.weight) } : {}),
          ...(o.dailyCapEur !== undefined ? { dailyCapMicros: parseCap('--daily-cap-eur', o.dailyCapEur) } : {}),
          ...(o.monthlyCapEur !== undefined ? { monthlyCapMicros: parseCap('--monthly-cap-eur', o.monthlyCapEur) } : {}),
        }),
      );
      const parts = [
        o.weight !== undefined ? `weight ${o.weight}` : null,
        o.dailyCapEur !== undefined ? `daily cap ${o.dailyCapEur === 'none' || o.dailyCapEur === 'off' ? 'none' : `EUR ${microsToEur(parseCap('', o.dailyCapEur)!)}`}` : null,
        o.monthlyCapEur !== undefined ? `monthly cap ${o.monthlyCapEur === 'none' || o.monthlyCapEur === 'off' ? 'none' : `EUR ${microsToEur(parseCap('', o.monthlyCapEur)!)}`}` : null,
      ].filter(Boolean);
      console.log(`account ${row.name} (${row.id}): ${parts.join(', ')}`);
    });
}
