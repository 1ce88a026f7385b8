import type { Db } from '../store/db.js';
import type { JobPriority } from '../store/schema.js';
import type { Lane } from './lanes.js';

export interface QueueTask {
  jobId: string;
  /** The lane the task was claimed from (src/queue/lanes.ts). */
  queue: string;
  /** Attempts so far, this one included. */
  attempts: number;
  /**
   * The fencing token of this claim, unique per claim: the queue's lease and the job row (once the
   * start transition takes it) name it, and every later write by this worker is checked against it.
   */
  token: string;
  accountId: string;
  /** The account's weight when it was claimed (metrics label its wait by it). */
  weight: number;
  /** First claims only: how long the task waited since it was enqueued (null for a retry or a reclaim). */
  waitedMs: number | null;
}

/** What a task is scheduled by: its account, its order within the account, the work it occupies. */
export interface NewTask {
  jobId: string;
  accountId: string;
  priority: JobPriority;
  createdAt: number;
  /** In images (a story: its scenes); a dispatch advances the account's pass by cost ÷ weight. */
  cost: number;
  /** Which worker slots run it (src/queue/lanes.ts); default: the paid lane. */
  lane?: Lane;
}

export interface QueueStats {
  ready: number;
  leased: number;
  oldestReadyAgeMs: number | null;
}

/** Waiting work per account weight, for /metrics. */
export interface QueueDepth {
  weight: number;
  queued: number;
  accounts: number;
}

/**
 * The queue decides who runs what next; the jobs table stays the source of truth and the fence
 * (src/jobs/transitions). One implementation (src/queue/sql-queue.ts) runs on the store itself, SQLite or
 * PostgreSQL, so the fair order (src/queue/fair-claim.ts) is the same in both modes. Every method that
 * settles a task takes the caller's transaction, so a job's change and its task's change commit
 * together; the ones that act for a claim take its token and act only while that claim still holds the task.
 */
export interface JobQueue {
  /** Adds a task inside the caller's transaction: the job row and its task commit together. */
  enqueue(trx: Db, task: NewTask, opts?: { runAt?: number }): Promise<void>;
  /** Adds many tasks (a batch's items) inside the caller's transaction, in a few statements. */
  enqueueMany(trx: Db, tasks: readonly NewTask[], opts?: { runAt?: number }): Promise<void>;
  /** Tells idle workers in this process to look now (call after the enqueueing transaction commits). */
  poke(): void;
  onPoke(listener: () => void): () => void;
  /** Takes the next task of the lane (default: `default`) in fair order with a fresh token; `owner` names the worker in logs. */
  claim(owner: string, leaseMs: number, lane?: Lane): Promise<QueueTask | null>;
  /** Whether the claim with this token still holds the task (nobody claimed it since), inside the caller's transaction. */
  holds(trx: Db, jobId: string, token: string): Promise<boolean>;
  /** Extends the claim's lease; false means it was lost (expired and claimed again, or settled). */
  heartbeat(jobId: string, token: string, leaseMs: number): Promise<boolean>;
  /** Removes the task inside the transaction that settles the job. */
  complete(trx: Db, jobId: string): Promise<void>;
  /** Removes the task whatever its state (a pending job canceled, a task about to be re-enqueued), inside the caller's transaction. */
  remove(trx: Db, jobId: string): Promise<void>;
  /** The claim's attempt failed retryably: the task runs again at `runAt`. */
  retryLater(trx: Db, jobId: string, token: string, runAt: number, error: string): Promise<void>;
  /** Gives the claim's task back at once (graceful shutdown), without counting the attempt against it. */
  release(trx: Db, jobId: string, token: string): Promise<void>;
  /** 1 + the tasks that will start before this waiting one, in the fair order; null when it is not waiting. */
  position(jobId: string): Promise<number | null>;
  /** The positions of several jobs at once (a list page): the same numbers as `position`, with fewer reads. */
  positions(jobIds: readonly string[]): Promise<Map<string, number | null>>;
  stats(): Promise<QueueStats>;
  depth(): Promise<QueueDepth[]>;
  /** Jobs whose claims kept expiring up to the attempt limit while never settled (the worker fails them with a clear error). */
  abandoned(db: Db): Promise<string[]>;
  stop?(): Promise<void>;
}
