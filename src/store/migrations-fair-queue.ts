import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';
import { spendPeriods } from '../util/spend-periods.js';

/**
 * Fair dispatch across accounts (issue 18), one schema for SQLite and PostgreSQL:
 *  - every queue task names its account, its order within the account (`sort_key`: created-at
 *    shifted by priority, so aging is a property of the key) and the work it occupies (`cost`);
 *  - `sched_accounts` keeps each account's place in the stride schedule (`pass`) and two counters
 *    the claim and the queue position read instead of counting tasks (`tasks`: all the account's
 *    tasks, `queued`: those not held by a live claim);
 *  - accounts gain a weight and daily/monthly spending caps; `account_spend` sums the captured money
 *    per UTC day and month (updated in the capture's own transaction);
 *  - jobs remember their priority.
 * In PostgreSQL the job tasks were pg-boss's until now: any it still holds move here, so an upgrade
 * loses no queued work.
 */
export const fairQueueMigrations: Record<string, Migration> = {
  '0010_fair_queue': {
    async up(db: Kysely<unknown>) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      await db.schema.alterTable('accounts').addColumn('weight', 'integer', (c) => c.notNull().defaultTo(1)).execute();
      await db.schema.alterTable('accounts').addColumn('daily_cap_micros', 'bigint').execute();
      await db.schema.alterTable('accounts').addColumn('monthly_cap_micros', 'bigint').execute();
      await db.schema.alterTable('jobs').addColumn('priority', 'text', (c) => c.notNull().defaultTo('normal')).execute();

      await db.schema.alterTable('queue_tasks').addColumn('account_id', 'text', (c) => c.notNull().defaultTo('')).execute();
      await db.schema.alterTable('queue_tasks').addColumn('sort_key', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('queue_tasks').addColumn('cost', 'integer', (c) => c.notNull().defaultTo(1)).execute();

      if (pg) {
        // Tasks pg-boss still holds for Easel (queue 'easel-jobs') come over as they are: waiting ones
        // claimable at their time, active ones as expired leases (their workers were stopped for the upgrade).
        const boss = await sql<{ t: string | null }>`select to_regclass('pgboss.job')::text as t`.execute(db);
        if (boss.rows[0]?.t) {
          await sql`
            insert into queue_tasks (job_id, queue, run_at, attempts, lease_owner, lease_expires_at, last_error, created_at)
            select q.id::text, 'default', (extract(epoch from q.start_after) * 1000)::bigint, q.retry_count,
                   null, null, null, (extract(epoch from q.created_on) * 1000)::bigint
              from pgboss.job q join jobs j on j.id = q.id::text
             where q.name = 'easel-jobs' and q.state in ('created', 'retry', 'active') and j.status in ('pending', 'processing')
            on conflict (job_id) do nothing`.execute(db);
        }
      }
      await sql`
        update queue_tasks set
          account_id = (select j.account_id from jobs j where j.id = queue_tasks.job_id),
          sort_key = (select j.created_at from jobs j where j.id = queue_tasks.job_id),
          cost = (select case when j.scenes_total > 1 then j.scenes_total else 1 end from jobs j where j.id = queue_tasks.job_id)`.execute(db);
      // A task whose job is gone could never be settled; it is dropped rather than left to block its account.
      await sql`delete from queue_tasks where account_id is null or account_id = ''`.execute(db);

      // The next task of an account, in its order; the live claims of an account (the running limit).
      await db.schema.createIndex('queue_tasks_account_next').on('queue_tasks').columns(['account_id', 'sort_key', 'job_id']).execute();
      await db.schema.createIndex('queue_tasks_account_lease').on('queue_tasks').columns(['account_id', 'lease_expires_at']).execute();
      // Claims whose workers died, found by the reconcile loop.
      await db.schema.createIndex('queue_tasks_lease').on('queue_tasks').column('lease_expires_at').execute();

      await db.schema
        .createTable('sched_accounts')
        .addColumn('account_id', 'text', (c) => c.primaryKey())
        .addColumn('pass', 'double precision', (c) => c.notNull().defaultTo(0))
        .addColumn('tasks', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Only accounts with work are walked, in pass order: idle accounts cost a claim nothing.
      await sql`create index sched_accounts_active on sched_accounts (pass, account_id) where tasks > 0`.execute(db);
      await sql`
        insert into sched_accounts (account_id, pass, tasks, queued)
        select account_id, 0, count(*), sum(case when lease_owner is null then 1 else 0 end) from queue_tasks group by account_id`.execute(db);

      await db.schema
        .createTable('account_spend')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('period', 'text', (c) => c.notNull())
        .addColumn('captured_micros', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('account_spend_pk', ['account_id', 'period'])
        .execute();
      // What was captured this month before caps existed, so a cap set now counts this day's and month's spending.
      const now = new Date();
      const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
      const rows = await sql<{ account_id: string; created_at: number | string; delta_held: number | string }>`
        select account_id, created_at, delta_held from ledger where kind = 'capture' and created_at >= ${monthStart}`.execute(db);
      const sums = new Map<string, number>();
      for (const r of rows.rows) {
        const { day, month } = spendPeriods(Number(r.created_at));
        for (const p of [day, month]) {
          const k = `${r.account_id}\u0000${p}`;
          sums.set(k, (sums.get(k) ?? 0) - Number(r.delta_held));
        }
      }
      for (const [k, micros] of sums) {
        const [account_id, period] = k.split('\u0000') as [string, string];
        await sql`insert into account_spend (account_id, period, captured_micros) values (${account_id}, ${period}, ${micros})`.execute(db);
      }
    },
  },
};
