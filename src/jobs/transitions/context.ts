import { sql } from 'kysely';
import type { Db } from '../../store/db.js';
import type { JobQueue } from '../../queue/port.js';
import type { JobRow } from '../row.js';

/**
 * The claim a worker holds on a job: the fencing token its queue claim was given. Every
 * transition a worker makes takes it and writes only where the job row still names it.
 */
export interface Fence {
  jobId: string;
  token: string;
}

/** What every transition may use besides its transaction. */
export interface TransitionContext {
  queue: JobQueue;
  /** When a job ending at `now` may have its files deleted (its retention, else the server's). */
  expiresAt(job: Pick<JobRow, 'retention_s'>, now: number): number;
  /** Other jobs this transaction changed (an item's batch): their listeners are told after it commits. */
  touched?: Set<string>;
}

/**
 * A transition refused because its writer no longer owns the job: another claim took it (the
 * writer paused past its lease) or the job was settled or given back meanwhile. Nothing was
 * written; the caller stops its run.
 */
export const STALE = 'stale' as const;
export type Stale = typeof STALE;

/**
 * Takes the job row's lock for the rest of the transaction (PostgreSQL: a row lock, so two writers
 * of one job serialise; SQLite: the transaction already holds the database write lock).
 * Written as a no-op UPDATE because that is the one portable way to lock a row.
 */
export async function lockJob(trx: Db, id: string): Promise<void> {
  await trx.updateTable('jobs').set({ updated_at: sql`updated_at` }).where('id', '=', id).execute();
}

/** The job, locked, if `fence` still owns it; undefined when the writer is stale. */
export async function ownedJob(trx: Db, fence: Fence): Promise<JobRow | undefined> {
  await lockJob(trx, fence.jobId);
  return trx.selectFrom('jobs').selectAll().where('id', '=', fence.jobId).where('lease_token', '=', fence.token).executeTakeFirst();
}

/**
 * The update of an owned job: the fence is part of the statement itself, not only of the read
 * before it, so no interleaving can make a stale writer's UPDATE land.
 */
export function updateOwned(trx: Db, fence: Fence) {
  return trx.updateTable('jobs').where('id', '=', fence.jobId).where('lease_token', '=', fence.token);
}

/** What every ending writes: no owner, no scene retry and no live progress any more, when it ended, and until when its files are kept. */
export function endedAt(ctx: TransitionContext, job: Pick<JobRow, 'retention_s'>, now: number) {
  return { retry_scene: null, lease_token: null, progress_json: null, completed_at: now, updated_at: now, result_expires_at: ctx.expiresAt(job, now) };
}
