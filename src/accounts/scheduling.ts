import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import { OperatorError } from './accounts.js';
import { spendingState } from '../billing/spending-caps.js';

export const WEIGHT_MAX = 1000;

export interface SchedulingChange {
  weight?: number;
  /** null clears the cap. */
  dailyCapMicros?: number | null;
  monthlyCapMicros?: number | null;
}

/** The account named `account` (its name, or its id). */
async function accountRow(db: Db, account: string): Promise<{ id: string; name: string }> {
  const row = await db.selectFrom('accounts').select(['id', 'name']).where((eb) => eb.or([eb('name', '=', account), eb('id', '=', account)])).executeTakeFirst();
  if (!row) throw new OperatorError(`no account "${account}" (give its name or id; \`easel accounts list\` shows them)`);
  return row;
}

/** `easel accounts set`: weight and spending caps; they apply to the next claim and the next hold. */
export async function setScheduling(db: Db, account: string, change: SchedulingChange): Promise<{ id: string; name: string }> {
  const row = await accountRow(db, account);
  if (change.weight !== undefined && (!Number.isInteger(change.weight) || change.weight < 1 || change.weight > WEIGHT_MAX)) {
    throw new OperatorError(`--weight must be a whole number from 1 to ${WEIGHT_MAX}`);
  }
  const set: Record<string, number | null> = {};
  if (change.weight !== undefined) set.weight = change.weight;
  if (change.dailyCapMicros !== undefined) set.daily_cap_micros = change.dailyCapMicros;
  if (change.monthlyCapMicros !== undefined) set.monthly_cap_micros = change.monthlyCapMicros;
  if (Object.keys(set).length === 0) throw new OperatorError('nothing to set: give --weight, --daily-cap-eur or --monthly-cap-eur');
  await db.updateTable('accounts').set(set).where('id', '=', row.id).execute();
  return row;
}

export interface AccountSchedulingRow {
  id: string;
  name: string;
  status: string;
  weight: number;
  daily_cap_micros: number | null;
  monthly_cap_micros: number | null;
  spent_today_micros: number;
  spent_month_micros: number;
  available_micros: number;
  held_micros: number;
  running: number;
  queued: number;
}

/**
 * Jobs running now (live queue claims) and waiting to start (pending), per account — one account's, or
 * every account's (null). Read by the profile and `easel accounts list`.
 */
export async function liveWork(db: Db, accountId: string | null, now = Date.now()): Promise<Map<string, { running: number; queued: number }>> {
  const running = await db
    .selectFrom('queue_tasks')
    .select(['account_id', sql<number>`count(*)`.as('n')])
    .where('lease_expires_at', '>=', now)
    .$if(accountId !== null, (q) => q.where('account_id', '=', accountId!))
    .groupBy('account_id')
    .execute();
  const queued = await db
    .selectFrom('jobs')
    .select(['account_id', sql<number>`count(*)`.as('n')])
    .where('status', '=', 'pending')
    .$if(accountId !== null, (q) => q.where('account_id', '=', accountId!))
    .groupBy('account_id')
    .execute();
  const out = new Map<string, { running: number; queued: number }>();
  const at = (id: string) => out.get(id) ?? (out.set(id, { running: 0, queued: 0 }), out.get(id)!);
  for (const r of running) at(r.account_id).running = Number(r.n);
  for (const r of queued) at(r.account_id).queued = Number(r.n);
  return out;
}

/** `easel accounts list`: every account with its share, caps, spending and live work. */
export async function listScheduling(db: Db): Promise<AccountSchedulingRow[]> {
  const now = Date.now();
  const accounts = await db.selectFrom('accounts').select(['id', 'name', 'status', 'weight', 'available_micros', 'held_micros']).orderBy('name').execute();
  const work = await liveWork(db, null, now);
  const out: AccountSchedulingRow[] = [];
  for (const a of accounts) {
    const s = await spendingState(db, a.id, now);
    out.push({
      id: a.id,
      name: a.name,
      status: a.status,
      weight: Number(a.weight),
      daily_cap_micros: s.daily_cap_micros,
      monthly_cap_micros: s.monthly_cap_micros,
      spent_today_micros: s.spent_today_micros,
      spent_month_micros: s.spent_month_micros,
      available_micros: Number(a.available_micros),
      held_micros: Number(a.held_micros),
      running: work.get(a.id)?.running ?? 0,
      queued: work.get(a.id)?.queued ?? 0,
    });
  }
  return out;
}
