import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * The lane of a schedule row becomes a column (src/queue/lanes.ts). Until now the free lane's rows
 * were keyed `process/<account id>` and the paid lane's rows were found with `account_id not like
 * '%/%'`: no index serves that, so the claim's walk and the enqueue's `min(pass)` could no longer use
 * the partial index over the active rows per lane. Now the key is (lane, account_id) and the active
 * index leads with the lane, so each lane's walk in pass order is one index range again.
 * PostgreSQL alters the table in place; SQLite cannot change a primary key, so it rebuilds the table
 * (create, copy, drop, rename) — the table holds one row per account and lane, so the copy is small.
 */
export const schedLaneMigrations: Record<string, Migration> = {
  '0014_sched_lanes': {
    async up(db: Kysely<unknown>) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      // 'process/' is 8 characters; substr is 1-based in both dialects. Account ids never contain '/'.
      const isProcess = sql`substr(account_id, 1, 8) = 'process/'`;
      if (pg) {
        await db.schema.alterTable('sched_accounts').addColumn('lane', 'text', (c) => c.notNull().defaultTo('default')).execute();
        // The old key first: 'process/a1' becoming 'a1' would collide with the paid lane's 'a1' under it.
        await sql`alter table sched_accounts drop constraint sched_accounts_pkey`.execute(db);
        await sql`update sched_accounts set lane = 'process', account_id = substr(account_id, 9) where ${isProcess}`.execute(db);
        await sql`alter table sched_accounts add constraint sched_accounts_pkey primary key (lane, account_id)`.execute(db);
        await sql`drop index sched_accounts_active`.execute(db);
      } else {
        await db.schema
          .createTable('sched_accounts_lanes')
          .addColumn('lane', 'text', (c) => c.notNull().defaultTo('default'))
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('pass', 'double precision', (c) => c.notNull().defaultTo(0))
          .addColumn('tasks', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('queued', 'integer', (c) => c.notNull().defaultTo(0))
          .addPrimaryKeyConstraint('sched_accounts_pk', ['lane', 'account_id'])
          .execute();
        await sql`
          insert into sched_accounts_lanes (lane, account_id, pass, tasks, queued)
          select case when ${isProcess} then 'process' else 'default' end,
                 case when ${isProcess} then substr(account_id, 9) else account_id end,
                 pass, tasks, queued
            from sched_accounts`.execute(db);
        // Dropping the table drops its index sched_accounts_active too.
        await db.schema.dropTable('sched_accounts').execute();
        await db.schema.alterTable('sched_accounts_lanes').renameTo('sched_accounts').execute();
      }
      // Only accounts with work are walked, per lane in pass order: idle accounts cost a claim nothing.
      await sql`create index sched_accounts_active on sched_accounts (lane, pass, account_id) where tasks > 0`.execute(db);
    },
  },
};
