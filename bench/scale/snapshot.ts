/**
 * A copy of the store as it was at the small phase, kept beside the growing one, so each cost is
 * measured on both stores in alternating rounds at the end (the same minutes, the same machine
 * state) instead of twenty minutes apart: a ratio of two medians taken at different times on a
 * shared machine mixes the store's growth with the machine's drift.
 * SQLite: the data directory copied after a checkpoint. PostgreSQL: `CREATE DATABASE … TEMPLATE`
 * (the source must have no connections while it is copied).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.js';
import { PG_ADMIN_URL, dropDatabase } from '../../test/helpers/server.js';

export interface StoreCopy {
  /** SQLite: the copied data directory; PostgreSQL: the copied database's URL. */
  dataDir: string | null;
  databaseUrl: string | null;
  drop(): Promise<void>;
}

export async function copySqlite(db: Db, dataDir: string): Promise<StoreCopy> {
  await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-scale-small-'));
  fs.cpSync(dataDir, dir, { recursive: true });
  return { dataDir: dir, databaseUrl: null, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Copies the database at `url`; the caller has closed its own connections to it. */
export async function copyPostgres(url: string): Promise<StoreCopy> {
  const source = new URL(url).pathname.slice(1);
  const name = `easel_t_${crypto.randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name} TEMPLATE ${source}`);
  } finally {
    await client.end();
  }
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  const copy = u.toString();
  return { dataDir: null, databaseUrl: copy, drop: () => dropDatabase(copy) };
}

/**
 * The seed writes a year of history in bulk transactions, each updating the same few account and
 * schedule rows thousands of times; PostgreSQL keeps every old version until the transaction ends,
 * so those small tables come out of the seed hundreds of times their live size (measured: 104 MB
 * for 1 001 accounts). A live store updates them in short transactions that autovacuum and
 * page pruning keep compact; the seeded store is compacted once to that state.
 */
export async function compactHotTables(db: Db, postgres: boolean): Promise<void> {
  if (!postgres) return;
  await sql`vacuum full accounts, sched_accounts`.execute(db);
  await sql`analyze accounts, sched_accounts`.execute(db);
}
