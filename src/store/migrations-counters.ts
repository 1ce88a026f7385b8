import { PostgresAdapter, sql, type Kysely, type Migration } from 'kysely';

/**
 * Summaries that keep `/metrics` flat as the store grows (issue 25): jobs by state and operation,
 * and the ledger's totals by kind, which until now were counted over every row at each scrape.
 *
 * Triggers append one **delta row** per change (a job inserted, its status changed, a ledger row
 * posted) — insert-only, so concurrent transactions never wait on a shared counter row (an UPDATE of
 * a hot counter would serialise every submit on its lock, and lock the rows of several jobs in a
 * hash order that can deadlock). `foldSummaries` (src/store/summaries.ts) moves the deltas into the
 * totals now and then; a reader adds totals and the few unfolded deltas. Living in the schema, the
 * triggers see every writer, present and future: no transition can forget to count.
 * The ledger stays the truth: `ledger_totals` is only what /metrics shows, and `easel verify`
 * compares the two.
 */
export const counterMigrations: Record<string, Migration> = {
  '0018_summaries': {
    async up(db: Kysely<unknown>) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      const big = pg ? 'bigint' : 'integer';
      // Per account, status, operation and whether the job is a batch's item: what GET /v1/jobs
      // counts for its `total` (jobs of their own, by status and operation) and /metrics sums.
      await db.schema
        .createTable('job_counts')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('in_batch', 'integer', (c) => c.notNull())
        .addColumn('n', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('job_counts_pk', ['account_id', 'in_batch', 'status', 'operation'])
        .execute();
      await db.schema
        .createTable('job_count_deltas')
        .addColumn('account_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('in_batch', 'integer', (c) => c.notNull())
        .addColumn('d', 'integer', (c) => c.notNull())
        .execute();
      // The same counts summed over accounts, for /metrics: as many rows as states × operations, however many tenants.
      await db.schema
        .createTable('job_totals')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('operation', 'text', (c) => c.notNull())
        .addColumn('n', big, (c) => c.notNull())
        .addPrimaryKeyConstraint('job_totals_pk', ['status', 'operation'])
        .execute();
      await db.schema.createIndex('job_count_deltas_account').on('job_count_deltas').columns(['account_id', 'in_batch']).execute();
      await db.schema
        .createTable('ledger_totals')
        .addColumn('kind', 'text', (c) => c.primaryKey())
        .addColumn('available', big, (c) => c.notNull())
        .addColumn('held', big, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('ledger_total_deltas')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('available', big, (c) => c.notNull())
        .addColumn('held', big, (c) => c.notNull())
        .execute();

      // An account's usage by operation and UTC month of creation (GET /v1/account/profile), as
      // src/accounts/usage.ts reported it by grouping every job of the account.
      for (const t of ['usage_counts', 'usage_deltas']) {
        let c = db.schema
          .createTable(t)
          .addColumn('account_id', 'text', (c) => c.notNull())
          .addColumn('operation', 'text', (c) => c.notNull())
          .addColumn('month', 'text', (c) => c.notNull())
          .addColumn('jobs', big, (c) => c.notNull())
          .addColumn('completed', big, (c) => c.notNull())
          .addColumn('failed', big, (c) => c.notNull())
          .addColumn('charged', big, (c) => c.notNull());
        if (t === 'usage_counts') c = c.addPrimaryKeyConstraint('usage_counts_pk', ['account_id', 'operation', 'month']);
        await c.execute();
      }
      await db.schema.createIndex('usage_deltas_account').on('usage_deltas').column('account_id').execute();
      const month = (col: string) =>
        pg ? `to_char(to_timestamp(${col} / 1000.0) at time zone 'UTC', 'YYYY-MM')` : `strftime('%Y-%m', ${col} / 1000, 'unixepoch')`;
      await sql
        .raw(
          `insert into usage_counts (account_id, operation, month, jobs, completed, failed, charged)
           select account_id, operation, ${month('created_at')}, count(*), sum(case when status = 'completed' then 1 else 0 end),
                  sum(case when status = 'failed' then 1 else 0 end), coalesce(sum(charged_micros), 0)
             from jobs group by 1, 2, 3`,
        )
        .execute(db);
      // One usage delta row from a job's old and new values (either may be absent).
      const usageDelta = (sign: string, r: string) =>
        `insert into usage_deltas (account_id, operation, month, jobs, completed, failed, charged) values (${r}.account_id, ${r}.operation, ${month(`${r}.created_at`)}, ${sign}1, ${sign}(case when ${r}.status = 'completed' then 1 else 0 end), ${sign}(case when ${r}.status = 'failed' then 1 else 0 end), ${sign}${r}.charged_micros);`;

      // The account's ledger rows, for the ledger page's `total` (kept by a trigger beside the
      // balance the same transaction already changes on that row).
      await db.schema.alterTable('accounts').addColumn('ledger_rows', big, (c) => c.notNull().defaultTo(0)).execute();
      await sql`update accounts set ledger_rows = (select count(*) from ledger l where l.account_id = accounts.id)`.execute(db);

      // Back-fill from what is there (one pass over each table, at upgrade time only).
      await sql`insert into job_counts (account_id, status, operation, in_batch, n) select account_id, status, operation, case when batch_id is null then 0 else 1 end, count(*) from jobs group by 1, 2, 3, 4`.execute(db);
      await sql`insert into job_totals (status, operation, n) select status, operation, sum(n) from job_counts group by status, operation`.execute(db);
      await sql`insert into ledger_totals (kind, available, held) select kind, coalesce(sum(delta_available), 0), coalesce(sum(delta_held), 0) from ledger group by kind`.execute(db);

      if (pg) {
        await sql`
          create function easel_job_count_delta() returns trigger language plpgsql as $$
          begin
            if tg_op in ('UPDATE', 'DELETE') then
              insert into job_count_deltas (account_id, status, operation, in_batch, d) values (old.account_id, old.status, old.operation, case when old.batch_id is null then 0 else 1 end, -1);
            end if;
            if tg_op in ('UPDATE', 'INSERT') then
              insert into job_count_deltas (account_id, status, operation, in_batch, d) values (new.account_id, new.status, new.operation, case when new.batch_id is null then 0 else 1 end, 1);
            end if;
            return null;
          end $$`.execute(db);
        await sql`create trigger jobs_count_insert after insert or delete on jobs for each row execute function easel_job_count_delta()`.execute(db);
        await sql`create trigger jobs_count_status after update of status on jobs for each row when (old.status is distinct from new.status) execute function easel_job_count_delta()`.execute(db);
        await sql
          .raw(
            `create function easel_usage_delta() returns trigger language plpgsql as $$
             begin
               if tg_op in ('UPDATE', 'DELETE') then ${usageDelta('-', 'old')} end if;
               if tg_op in ('UPDATE', 'INSERT') then ${usageDelta('+', 'new')} end if;
               return null;
             end $$`,
          )
          .execute(db);
        await sql`create trigger jobs_usage_insert after insert or delete on jobs for each row execute function easel_usage_delta()`.execute(db);
        await sql`create trigger jobs_usage_update after update of status, charged_micros on jobs for each row
          when (old.status is distinct from new.status or old.charged_micros is distinct from new.charged_micros) execute function easel_usage_delta()`.execute(db);
        await sql`
          create function easel_ledger_total_delta() returns trigger language plpgsql as $$
          begin
            insert into ledger_total_deltas (kind, available, held) values (new.kind, new.delta_available, new.delta_held);
            return null;
          end $$`.execute(db);
        await sql`create trigger ledger_total_insert after insert on ledger for each row execute function easel_ledger_total_delta()`.execute(db);
        // One UPDATE per statement (a batch's holds are one multi-row INSERT), not one per row.
        await sql`
          create function easel_account_ledger_rows() returns trigger language plpgsql as $$
          begin
            update accounts a set ledger_rows = a.ledger_rows + c.n
              from (select account_id, count(*) as n from new_rows group by account_id) c
             where a.id = c.account_id;
            return null;
          end $$`.execute(db);
        await sql`create trigger ledger_account_rows after insert on ledger referencing new table as new_rows for each statement execute function easel_account_ledger_rows()`.execute(db);
      } else {
        await sql`create trigger jobs_count_insert after insert on jobs begin
          insert into job_count_deltas (account_id, status, operation, in_batch, d) values (new.account_id, new.status, new.operation, case when new.batch_id is null then 0 else 1 end, 1); end`.execute(db);
        await sql`create trigger jobs_count_delete after delete on jobs begin
          insert into job_count_deltas (account_id, status, operation, in_batch, d) values (old.account_id, old.status, old.operation, case when old.batch_id is null then 0 else 1 end, -1); end`.execute(db);
        await sql`create trigger jobs_count_status after update of status on jobs when old.status is not new.status begin
          insert into job_count_deltas (account_id, status, operation, in_batch, d) values (old.account_id, old.status, old.operation, case when old.batch_id is null then 0 else 1 end, -1);
          insert into job_count_deltas (account_id, status, operation, in_batch, d) values (new.account_id, new.status, new.operation, case when new.batch_id is null then 0 else 1 end, 1); end`.execute(db);
        await sql.raw(`create trigger jobs_usage_insert after insert on jobs begin ${usageDelta('+', 'new')} end`).execute(db);
        await sql.raw(`create trigger jobs_usage_delete after delete on jobs begin ${usageDelta('-', 'old')} end`).execute(db);
        await sql
          .raw(`create trigger jobs_usage_update after update of status, charged_micros on jobs
                when old.status is not new.status or old.charged_micros is not new.charged_micros
                begin ${usageDelta('-', 'old')} ${usageDelta('+', 'new')} end`)
          .execute(db);
        await sql`create trigger ledger_total_insert after insert on ledger begin
          insert into ledger_total_deltas (kind, available, held) values (new.kind, new.delta_available, new.delta_held);
          update accounts set ledger_rows = ledger_rows + 1 where id = new.account_id; end`.execute(db);
      }
    },
  },
};
