/** Facts about a populated store: what it weighs, and how long this session's migrations take on it. */
import fs from 'node:fs';
import path from 'node:path';
import { PostgresAdapter, sql } from 'kysely';
import type { Db } from '../../src/store/db.js';
import { migrate } from '../../src/store/db.js';

const isPg = (mode: string) => mode === 'scaleout';

/** Database bytes: PostgreSQL's size of the database; SQLite's file after a checkpoint (WAL folded in). */
export async function dbBytes(db: Db, mode: 'embedded' | 'scaleout', dataDir: string): Promise<number> {
  if (isPg(mode)) {
    const r = await sql<{ n: string }>`select pg_database_size(current_database())::text as n`.execute(db);
    return Number(r.rows[0]!.n);
  }
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  return fs.statSync(path.join(dataDir, 'easel.sqlite')).size;
}

/**
 * Undoes, then re-applies and times, the migrations that must visit every row of a populated store:
 * 0018 (the summaries' back-fill over every job and ledger row, and their triggers) and 0019 (the
 * sweep's partial index built over every job). Each undo
 * removes exactly what its migration made.
 */
const UNDO: Record<string, (db: Db, pg: boolean) => Promise<void>> = {
  '0019_sweep': async (db) => {
    for (const i of ['jobs_results_due', 'idempotency_keys_expires', 'uploads_blobs_due']) await sql.raw(`drop index if exists ${i}`).execute(db);
    await sql`create index jobs_result_expires_at on jobs (result_expires_at)`.execute(db);
  },
  '0018_summaries': async (db, pg) => {
    if (pg) {
      await sql`drop trigger if exists jobs_count_insert on jobs`.execute(db);
      await sql`drop trigger if exists jobs_count_status on jobs`.execute(db);
      await sql`drop trigger if exists ledger_total_insert on ledger`.execute(db);
      await sql`drop trigger if exists ledger_account_rows on ledger`.execute(db);
      await sql`drop trigger if exists jobs_usage_insert on jobs`.execute(db);
      await sql`drop trigger if exists jobs_usage_update on jobs`.execute(db);
      await sql`drop function if exists easel_usage_delta()`.execute(db);
      await sql`drop function if exists easel_job_count_delta()`.execute(db);
      await sql`drop function if exists easel_account_ledger_rows()`.execute(db);
      await sql`drop function if exists easel_ledger_total_delta()`.execute(db);
    } else {
      for (const t of ['jobs_count_insert', 'jobs_count_delete', 'jobs_count_status', 'ledger_total_insert', 'jobs_usage_insert', 'jobs_usage_delete', 'jobs_usage_update']) await sql.raw(`drop trigger if exists ${t}`).execute(db);
    }
    await sql`alter table accounts drop column ledger_rows`.execute(db);
    for (const t of ['job_counts', 'job_totals', 'job_count_deltas', 'ledger_totals', 'ledger_total_deltas', 'usage_counts', 'usage_deltas']) await sql.raw(`drop table if exists ${t}`).execute(db);
  },
};

export async function migrationTime(db: Db): Promise<{ ms: number; migrations: string[] }> {
  const isPostgres = db.getExecutor().adapter instanceof PostgresAdapter;
  const names = Object.keys(UNDO).sort().reverse();
  for (const name of names) {
    await UNDO[name]!(db, isPostgres);
    await db.deleteFrom('kysely_migration' as never).where('name' as never, '=', name as never).execute();
  }
  const t0 = performance.now();
  const ran = await migrate(db);
  return { ms: performance.now() - t0, migrations: ran };
}
