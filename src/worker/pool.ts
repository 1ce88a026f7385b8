import type { Logger } from 'pino';
import type { JobQueue, QueueTask } from '../queue/port.js';
import type { JobService } from '../jobs/service.js';
import type { Fence } from '../jobs/transitions/context.js';
import type { Pipeline, PipelineDeps } from '../pipelines/context.js';
import { PIPELINES } from './pipelines.js';
import { ProgressReporter } from '../progress/reporter.js';
import { EaselError, JobFailure } from '../errors.js';
import { LeaseLost } from '../jobs/lease-lost.js';
import { backoffMs } from '../util/backoff.js';
import { newId } from '../util/ids.js';
import { queueWait } from '../observability/metrics.js';
import { dependencyFault } from '../util/dependency-fault.js';
import { IdleCollector } from '../util/idle-gc.js';

/**
 * The database, the blob storage or the disk is down: the job is not at fault and is handed back.
 * A bare network error from anything else (a vendor) stays a failed attempt, retried and counted as before.
 */
function isStoreFault(e: unknown): boolean {
  const f = dependencyFault(e);
  return f !== null && f.dependency !== 'network';
}

/** A slot whose run met a dependency fault pauses this long before claiming again, doubling up to the max. */
const FAULT_PAUSE_MS = 500;
const FAULT_PAUSE_MAX_MS = 5000;
import type { Lane } from '../queue/lanes.js';

export interface PoolOptions {
  /** Slots of the paid lane (EASEL_WORKER_CONCURRENCY). */
  concurrency: number;
  /** Slots of the free processing lane (EASEL_PROCESS_CONCURRENCY); 0: this pool runs no free work. */
  processConcurrency?: number;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  /** How often an idle slot looks for work it was not poked about (expired leases, other processes). */
  idlePollMs: number;
}

/**
 * In-process workers: each slot claims a task, takes the job with the claim's token (the start
 * transition), keeps the lease alive with a heartbeat while the pipeline runs, and settles the
 * outcome through fenced transitions. A slot whose claim was lost stops and writes nothing more.
 * Enqueues in this process wake idle slots at once. Each slot serves one lane (src/queue/lanes.ts):
 * paid slots never run free processing and free slots never run paid work.
 */
export class WorkerPool {
  readonly owner = `w-${process.pid}-${newId().slice(-8)}`;
  private stopping = false;
  private readonly running = new Map<string, AbortController>();
  private readonly slots: Promise<void>[] = [];
  private readonly wakers: Record<Lane, Set<() => void>> = { default: new Set(), process: new Set() };
  private offPoke: (() => void) | null = null;
  /** Dead Buffers of finished image work are collected once no job runs (src/util/idle-gc.ts). */
  private readonly collector = new IdleCollector();

  constructor(
    private readonly queue: JobQueue,
    private readonly jobs: JobService,
    private readonly deps: PipelineDeps,
    private readonly log: Logger,
    private readonly opts: PoolOptions,
    /** Which pipeline runs which operation (the registry; tests run their own). */
    private readonly pipelines: Record<string, Pipeline> = PIPELINES,
  ) {}

  start(): void {
    this.offPoke = this.queue.onPoke(() => this.wakeOne());
    for (let i = 0; i < this.opts.concurrency; i++) this.slots.push(this.slotLoop('default'));
    for (let i = 0; i < (this.opts.processConcurrency ?? 0); i++) this.slots.push(this.slotLoop('process'));
    void this.reconcileLoop();
  }

  /** Settles jobs the queue engine gave up on (retries exhausted by lost workers), releasing their money. */
  private async reconcileLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        for (const id of await this.queue.abandoned(this.deps.db)) {
          this.log.warn({ job_id: id }, 'job abandoned by the queue after repeated worker losses');
          await this.jobs.abandon(id, 'timeout', 'The job was interrupted too many times (its workers stopped) and was given up.');
        }
      } catch (e) {
        this.log.warn({ err: e }, 'reconcile failed');
      }
      // A plain timer, not an idle slot: a poke must wake a worker slot, never this loop.
      await new Promise((r) => setTimeout(r, Math.max(1000, this.opts.leaseMs)).unref());
    }
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** A poke does not say which lane its task is in: one idle slot of each lane looks (a wasted claim at most). */
  private wakeOne(): void {
    for (const set of Object.values(this.wakers)) {
      const first = set.values().next();
      if (!first.done) first.value();
    }
  }

  private async idle(lane: Lane, ms = this.opts.idlePollMs): Promise<void> {
    await new Promise<void>((resolve) => {
      const waker = () => {
        clearTimeout(t);
        this.wakers[lane].delete(waker);
        resolve();
      };
      const t = setTimeout(waker, ms);
      this.wakers[lane].add(waker);
    });
  }

  private async slotLoop(lane: Lane): Promise<void> {
    // While a dependency is down every run fails the same way: pause between tries instead of spinning.
    let faultPause = 0;
    const faulted = async () => {
      faultPause = Math.min(FAULT_PAUSE_MAX_MS, faultPause === 0 ? FAULT_PAUSE_MS : faultPause * 2);
      await this.idle(lane, faultPause);
    };
    while (!this.stopping) {
      let task: QueueTask | null = null;
      try {
        task = await this.queue.claim(this.owner, this.opts.leaseMs, lane);
      } catch (e) {
        if (isStoreFault(e)) {
          this.log.warn({ err: (e as Error).message }, 'queue claim failed: a dependency is unavailable');
          await faulted();
          continue;
        }
        this.log.error({ err: e }, 'queue claim failed');
      }
      if (!task) {
        await this.idle(lane);
        continue;
      }
      if (task.waitedMs !== null) queueWait.observe({ weight: String(task.weight) }, task.waitedMs / 1000);
      let fault = false;
      try {
        fault = (await this.runTask(task)) === 'dependency_fault';
      } catch (e) {
        // A start or settle that failed (the database went away) leaves the task to its lease: it comes back.
        fault = isStoreFault(e);
        if (!(e instanceof LeaseLost)) this.log.error({ err: e, job_id: task.jobId }, 'settling the job failed; its lease will expire and it runs again');
      }
      if (fault) await faulted();
      else faultPause = 0;
    }
  }

  private async runTask(task: QueueTask): Promise<void | 'dependency_fault'> {
    const fence: Fence = { jobId: task.jobId, token: task.token };
    let log = this.log.child({ job_id: task.jobId, attempt: task.attempts });
    const started = await this.jobs.start(fence);
    // ended: settled already (an earlier attempt crashed after settling), its task dropped;
    // canceled: a cancel asked while it was between workers, settled now; stale: claimed again meanwhile.
    if (started.outcome !== 'started') {
      if (started.outcome === 'stale') log.warn('the claim was lost before the job started; another worker has it');
      return;
    }
    const job = started.job;
    // reqId (fastify's own log key) of the request that submitted the job: API and worker lines join on it.
    if (job.request_id) log = log.child({ reqId: job.request_id });
    const pipeline = this.pipelines[job.operation];
    if (!pipeline) {
      await this.jobs.fail(fence, 'internal_error', `no pipeline for operation ${job.operation}`);
      return;
    }
    const ac = new AbortController();
    this.running.set(job.id, ac);
    this.collector.busy();
    let leaseLost = false;
    const hb = setInterval(() => {
      this.queue
        .heartbeat(job.id, fence.token, this.opts.leaseMs)
        .then((ok) => {
          if (!ok) {
            leaseLost = true;
            ac.abort();
          }
        })
        .catch((e) => log.warn({ err: e }, 'heartbeat failed'));
    }, Math.max(100, Math.floor(this.opts.leaseMs / 3)));
    const began = Date.now();
    const progress = new ProgressReporter({ jobs: this.jobs, blob: this.deps.blob, db: this.deps.db, log }, fence, job);
    try {
      log.info({ operation: job.operation }, 'job started');
      await pipeline(this.deps, { job, fence, signal: ac.signal, progress });
      log.info({ ms: Date.now() - began }, 'job finished');
    } catch (e) {
      if (leaseLost || e instanceof LeaseLost) {
        // The error that ended the run says how it stopped (a refused write, its transaction ended by the server).
        log.warn(e instanceof LeaseLost ? {} : { err: (e as Error).message }, 'lease lost; another worker owns the job now, and this run wrote nothing more');
      } else if (this.stopping && ac.signal.aborted) {
        await this.jobs.release(fence).catch((err: unknown) => {
          if (!(err instanceof LeaseLost)) throw err;
        });
        log.info('job released for another worker at shutdown');
      } else if (isStoreFault(e)) {
        return await this.giveBack(fence, e, log);
      } else {
        await this.handleFailure(task, fence, e, log);
      }
    } finally {
      clearInterval(hb);
      this.running.delete(job.id);
      if (this.running.size === 0) this.collector.idle();
      await progress.close();
    }
  }

  /**
   * A dependency (database, storage, disk) was unavailable mid-run: nothing is wrong with the job.
   * It is handed back without counting the attempt (the release transition) and runs again once
   * the dependency is back; what it recorded and paid for so far stays. When the release itself
   * cannot be written, the claim's lease expires and the job is claimed again all the same.
   */
  private async giveBack(fence: Fence, e: unknown, log: Logger): Promise<void | 'dependency_fault'> {
    const fault = { dependency: dependencyFault(e)!.dependency, err: (e as Error).message };
    try {
      await this.jobs.release(fence);
      log.warn(fault, 'a dependency is unavailable; the job is handed back to run again');
    } catch (err) {
      // The fault was this run's own connection being ended while the process was stopped mid-transaction
      // (src/store/postgres.ts): its transaction was rolled back, and meanwhile another worker took the job.
      if (err instanceof LeaseLost) {
        log.warn(fault, 'lease lost; another worker owns the job now, and this run wrote nothing more');
        return;
      }
      log.warn({ ...fault, release_err: (err as Error).message }, 'a dependency is unavailable, and handing the job back failed; its lease will expire and it runs again');
    }
    return 'dependency_fault';
  }

  private async handleFailure(task: QueueTask, fence: Fence, e: unknown, log: Logger): Promise<void> {
    const failure =
      e instanceof JobFailure
        ? e
        : e instanceof EaselError
          ? new JobFailure(e.code, e.message, false)
          : new JobFailure('internal_error', 'An internal error ended this job; nothing was charged for unfinished work.', true);
    if (!(e instanceof JobFailure) && !(e instanceof EaselError)) log.error({ err: e }, 'pipeline crashed');
    if (failure.retryable && task.attempts < this.opts.maxAttempts) {
      const delay = backoffMs(task.attempts, failure.retryAfterMs, this.opts.retryBaseMs);
      log.warn({ code: failure.code, delay_ms: delay }, 'job step failed; retrying');
      await this.jobs.retryLater(fence, Date.now() + delay, `${failure.code}: ${failure.message}`);
      return;
    }
    log.warn({ code: failure.code }, 'job failed');
    await this.jobs.fail(fence, failure.code, failure.message);
  }

  private readonly companions: { stop(): Promise<void> }[] = [];

  /** Background work of the worker process (the retention sweeper) that stops with the pool. */
  alongside(task: { stop(): Promise<void> }): void {
    this.companions.push(task);
  }

  private readonly afterSlots: { stop(): Promise<void> }[] = [];

  /** What the running jobs use (the processing children): stopped once every slot has ended. */
  usedBySlots(task: { stop(): Promise<void> }): void {
    this.afterSlots.push(task);
  }

  /** Stops claiming, lets running jobs finish for `graceMs`, then aborts and releases the rest. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.collector.stop();
    await Promise.allSettled(this.companions.map((c) => c.stop()));
    this.offPoke?.();
    for (const set of Object.values(this.wakers)) for (const w of [...set]) w();
    const all = Promise.all(this.slots);
    const timedOut = await Promise.race([all.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), graceMs).unref())]);
    if (timedOut) {
      for (const ac of this.running.values()) ac.abort();
      await all;
    }
    await Promise.allSettled(this.afterSlots.map((t) => t.stop()));
  }
}
