/**
 * Seeds a store with jobs cloned from one real job (its row, its events, its ledger rows), through
 * the store's own row types and the project's job-row builder: what a year of traffic leaves behind,
 * in minutes. Jobs are spread over `accounts` background accounts; a fixed probe account's own
 * history is seeded once (src: bench/scale.ts), so the per-request costs measured for it compare
 * "the same tenant while the store around it grows".
 */
import { v7 } from 'uuid';
import { sql } from 'kysely';
import type { Db } from '../../src/store/db.js';
import type { JobTable, JobEventTable, LedgerTable } from '../../src/store/schema.js';

export interface Template {
  job: JobTable;
  events: JobEventTable[];
  ledger: LedgerTable[];
}

export async function readTemplate(db: Db, jobId: string): Promise<Template> {
  const job = await db.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirstOrThrow();
  const events = await db.selectFrom('job_events').selectAll().where('job_id', '=', jobId).orderBy('seq').execute();
  const ledger = await db.selectFrom('ledger').selectAll().where('job_id', '=', jobId).orderBy('id').execute();
  return { job: job as JobTable, events: events as JobEventTable[], ledger: ledger as LedgerTable[] };
}

export type SeedStatus = 'completed' | 'failed' | 'pending';

export interface SeedJob {
  accountId: string;
  status: SeedStatus;
  /** Epoch ms: the job's id carries it, so id order is time order as in a live store. */
  at: number;
  metadata?: Record<string, string>;
}

/** Rows per multi-row INSERT: under SQLite's 32 766 bound variables for the widest table (jobs). */
const CHUNK = 500;

async function insertChunks<T>(db: Db, table: 'jobs' | 'job_events' | 'ledger' | 'job_metadata' | 'queue_tasks', rows: T[]): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    await db.insertInto(table).values(rows.slice(i, i + CHUNK) as any).execute();
  }
}

/**
 * Inserts `jobs` in one transaction: each a clone of the template with its own id, account, status
 * and times, with the template's events and ledger rows (a pending job: its hold only, and a queue
 * task). Returns the ids in order.
 */
export async function seedJobs(db: Db, t: Template, jobs: SeedJob[]): Promise<string[]> {
  const ids: string[] = [];
  const jobRows: JobTable[] = [];
  const events: JobEventTable[] = [];
  const ledger: LedgerTable[] = [];
  const metadata: { job_id: string; account_id: string; key: string; value: string }[] = [];
  const tasks: Record<string, unknown>[] = [];
  const pendingBy = new Map<string, number>();
  const runMs = Math.max(1, Number(t.job.completed_at ?? 0) - Number(t.job.started_at ?? 0));
  for (const j of jobs) {
    const id = v7({ msecs: j.at });
    ids.push(id);
    const ended = j.status !== 'pending';
    jobRows.push({
      ...t.job,
      id,
      account_id: j.accountId,
      key_id: null,
      status: j.status,
      result_json: j.status === 'completed' ? t.job.result_json : null,
      error_code: j.status === 'failed' ? 'provider_error' : null,
      error_message: j.status === 'failed' ? 'The model provider failed.' : null,
      charged_micros: j.status === 'completed' ? t.job.charged_micros : 0,
      refunded_micros: j.status === 'completed' ? t.job.refunded_micros : j.status === 'failed' ? t.job.hold_micros : 0,
      attempts: ended ? 1 : 0,
      created_at: j.at,
      started_at: ended ? j.at + 5 : null,
      completed_at: ended ? j.at + 5 + runMs : null,
      updated_at: ended ? j.at + 5 + runMs : j.at,
      request_id: null,
      metadata_json: j.metadata ? JSON.stringify(j.metadata) : null,
      // Far in the future: the retention sweep is measured by its own bench (bench/sweep-rate.ts).
      result_expires_at: ended ? j.at + 10 * 365 * 86_400_000 : null,
      result_expired_at: null,
      lease_token: null,
      progress_json: null,
    });
    for (const [key, value] of Object.entries(j.metadata ?? {})) metadata.push({ job_id: id, account_id: j.accountId, key, value });
    if (j.status === 'pending') {
      events.push(...t.events.filter((e) => e.seq === 1).map((e) => ({ ...e, job_id: id, account_id: j.accountId, created_at: j.at })));
      const hold = t.ledger.find((l) => l.kind === 'hold');
      if (hold) ledger.push({ ...hold, id: v7({ msecs: j.at }), job_id: id, account_id: j.accountId, created_at: j.at });
      tasks.push({ job_id: id, queue: 'default', run_at: j.at, attempts: 0, lease_owner: null, lease_expires_at: null, last_error: null, created_at: j.at, account_id: j.accountId, sort_key: j.at, cost: 1 });
      pendingBy.set(j.accountId, (pendingBy.get(j.accountId) ?? 0) + 1);
    } else {
      events.push(...t.events.map((e) => ({ ...e, job_id: id, account_id: j.accountId, created_at: j.at + (Number(e.created_at) - Number(t.job.created_at)) })));
      for (const l of t.ledger) {
        // A failed job's money went back: its capture becomes a release of the same hold.
        const row = j.status === 'failed' && l.kind === 'capture' ? { ...l, kind: 'release' as const, delta_available: -l.delta_held } : l;
        ledger.push({ ...row, id: v7({ msecs: j.at + 1 }), job_id: id, account_id: j.accountId, created_at: j.at + 1 });
      }
    }
  }
  await db.transaction().execute(async (trx) => {
    await insertChunks(trx, 'jobs', jobRows);
    await insertChunks(trx, 'job_events', events);
    await insertChunks(trx, 'ledger', ledger);
    await insertChunks(trx, 'job_metadata', metadata);
    await insertChunks(trx, 'queue_tasks', tasks);
    for (const [accountId, n] of pendingBy) {
      // The schedule's counters, as the queue's own enqueue keeps them (src/queue/sql-queue.ts).
      await sql`insert into sched_accounts (lane, account_id, pass, tasks, queued) values ('default', ${accountId}, 0, ${n}, ${n})
        on conflict (lane, account_id) do update set tasks = sched_accounts.tasks + ${n}, queued = sched_accounts.queued + ${n}`.execute(trx);
    }
  });
  return ids;
}

/** Background accounts, as the operator's `accounts create` makes them (no keys: they are never measured). */
export async function seedAccounts(db: Db, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => v7());
  const now = Date.now();
  for (let i = 0; i < ids.length; i += CHUNK) {
    await db
      .insertInto('accounts')
      .values(
        ids.slice(i, i + CHUNK).map((id, k) => ({
          id,
          name: `bg-${i + k}`,
          email: null,
          status: 'active' as const,
          strictness: 'normal' as const,
          retention_days: null,
          weight: 1,
          daily_cap_micros: null,
          monthly_cap_micros: null,
          available_micros: 0,
          held_micros: 0,
          created_at: now,
        })),
      )
      .execute();
    // Credits to spend, as `accounts create --credits` grants them: one ledger row each.
    await db
      .insertInto('ledger')
      .values(ids.slice(i, i + CHUNK).map((id) => ({ id: v7(), account_id: id, job_id: null, kind: 'grant' as const, delta_available: 1e12, delta_held: 0, note: 'bench:scale', created_at: now })))
      .execute();
  }
  return ids;
}

/**
 * Every account's running totals set to the sums of its ledger rows (the seeded rows moved money
 * outside the transitions), so the seeded store passes the same audit as a live one.
 */
export async function settleAccountTotals(db: Db): Promise<void> {
  await sql`update accounts set
      available_micros = coalesce((select sum(delta_available) from ledger l where l.account_id = accounts.id), 0),
      held_micros = coalesce((select sum(delta_held) from ledger l where l.account_id = accounts.id), 0)`.execute(db);
}
