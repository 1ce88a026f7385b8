import type { Db } from '../store/db.js';

export interface QueueTask {
  jobId: string;
  queue: string;
  /** Attempts so far, this one included. */
  attempts: number;
}

export interface QueueStats {
  ready: number;
  leased: number;
  oldestReadyAgeMs: number | null;
}

/**
 * The queue decides who runs what next; the jobs table stays the source of truth.
 * The embedded adapter keeps tasks in the same SQLite database; a distributed engine
 * (pg-boss on PostgreSQL) implements the same port in scale-out mode.
 */
export interface JobQueue {
  /** Adds a task inside the caller's transaction: the job row and its task commit together. */
  enqueue(trx: Db, jobId: string, opts?: { queue?: string; runAt?: number }): Promise<void>;
  /** Tells idle workers in this process to look now (call after the enqueueing transaction commits). */
  poke(): void;
  onPoke(listener: () => void): () => void;
  claim(owner: string, leaseMs: number): Promise<QueueTask | null>;
  /** Extends the lease; false means the lease was lost (expired and taken by another worker). */
  heartbeat(jobId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Removes the task inside the transaction that settles the job. */
  complete(trx: Db, jobId: string): Promise<void>;
  /** Removes the task whatever its state (a pending job canceled, a task about to be re-enqueued), inside the caller's transaction. */
  remove(trx: Db, jobId: string): Promise<void>;
  retryLater(jobId: string, owner: string, runAt: number, error: string): Promise<void>;
  /** Gives a leased task back at once (graceful shutdown), without counting the attempt against it. */
  release(jobId: string, owner: string): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Jobs the engine gave up on while they were never settled (the worker fails them with a clear error). */
  abandoned?(db: Db): Promise<string[]>;
  stop?(): Promise<void>;
}
