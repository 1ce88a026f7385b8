import type { Db } from '../store/db.js';

export interface QueueTask {
  jobId: string;
  queue: string;
  /** Attempts so far, this one included. */
  attempts: number;
  /**
   * The fencing token of this claim, unique per claim: the queue's lease and the job row (once the
   * start transition takes it) name it, and every later write by this worker is checked against it.
   */
  token: string;
}

export interface QueueStats {
  ready: number;
  leased: number;
  oldestReadyAgeMs: number | null;
}

/**
 * The queue decides who runs what next; the jobs table stays the source of truth and the fence
 * (src/jobs/transitions). The embedded adapter keeps tasks in the same SQLite database; a
 * distributed engine (pg-boss on PostgreSQL) implements the same port in scale-out mode. Every
 * method that settles a task takes the caller's transaction, so a job's change and its task's
 * change commit together; the ones that act for a claim take its token and act only while that
 * claim still holds the task.
 */
export interface JobQueue {
  /** Adds a task inside the caller's transaction: the job row and its task commit together. */
  enqueue(trx: Db, jobId: string, opts?: { queue?: string; runAt?: number }): Promise<void>;
  /** Tells idle workers in this process to look now (call after the enqueueing transaction commits). */
  poke(): void;
  onPoke(listener: () => void): () => void;
  /** Takes the next ready task with a fresh token; `owner` names the worker in logs and the embedded table. */
  claim(owner: string, leaseMs: number): Promise<QueueTask | null>;
  /** Whether the claim with this token still holds the task (nobody claimed it since), inside the caller's transaction. */
  holds(trx: Db, jobId: string, token: string): Promise<boolean>;
  /** Extends the claim's lease; false means it was lost (expired and claimed again, or settled). */
  heartbeat(jobId: string, token: string, leaseMs: number): Promise<boolean>;
  /** Removes the task inside the transaction that settles the job. */
  complete(trx: Db, jobId: string): Promise<void>;
  /** Removes the task whatever its state (a pending job canceled, a task about to be re-enqueued), inside the caller's transaction. */
  remove(trx: Db, jobId: string): Promise<void>;
  /** The claim's attempt failed retryably: the task runs again at `runAt` (or later, by the engine's backoff). */
  retryLater(trx: Db, jobId: string, token: string, runAt: number, error: string): Promise<void>;
  /** Gives the claim's task back at once (graceful shutdown), without counting the attempt against it. */
  release(trx: Db, jobId: string, token: string): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Jobs the engine gave up on while they were never settled (the worker fails them with a clear error). */
  abandoned?(db: Db): Promise<string[]>;
  stop?(): Promise<void>;
}
