import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import type { JobQueue } from '../queue/port.js';
import { JobChanges } from './changes.js';
import { holdOrRefuse } from '../billing/credit-insufficient.js';
import { newId } from '../util/ids.js';
import { newJobRow, type NewJob } from './new-row.js';
import { checkBacklog, recordCreateExtras } from './create-records.js';
import { insertBatch, type BatchSubmit } from './batch-submit.js';
import { BATCH_OPERATION } from './batch-operation.js';
import { TERMINAL } from './types.js';
import { compiledOnce } from '../store/compiled-once.js';
import { appendJobEvent } from './event-log.js';
import type { IdempotencyClaim } from '../idempotency/request.js';
import { IdempotencyTaken, claimIdempotency, findIdempotent } from '../idempotency/store.js';
import type { RequestedWebhook } from './webhook-outbox.js';
import { checkMaxCost, type JobOptions } from './options.js';
import { STALE, type Fence, type Stale, type TransitionContext } from './transitions/context.js';
import { start, type StartOutcome } from './transitions/start.js';
import { checkpoint } from './transitions/checkpoint.js';
import { recordStep, type StepRecord } from './transitions/record-step.js';
import { recordFailedScene } from './transitions/record-failed-scene.js';
import { recordProgress } from './transitions/record-progress.js';
import { complete, type ResultBuilder } from './transitions/complete.js';
import { abandon, fail } from './transitions/fail.js';
import { retryLater } from './transitions/retry-later.js';
import { releaseClaim } from './transitions/release.js';
import { cancel } from './transitions/cancel.js';
import { retryScene, type SceneRetryPrice } from './transitions/retry-scene.js';
import { LeaseLost } from './lease-lost.js';
import { listJobs, type JobFilters } from './list.js';
import type { PageAt, PageOf } from '../util/cursor.js';
import { taskOf } from './task-of.js';
import { dependencyFault } from '../util/dependency-fault.js';
import { crashPoint } from '../util/crash.js';

/** A create request's job, prepared (src/jobs/new-row.ts), with what only a job of its own has. */
export interface SubmitInput extends NewJob {
  /** Idempotency-Key of the create request: the key is stored in the job's transaction (src/idempotency). */
  idempotency?: IdempotencyClaim | null;
  /** webhook_url / webhook_events of the create request; null/absent = the account default, if any. */
  webhook?: RequestedWebhook | null;
}

export interface JobServiceOptions {
  /** Pending jobs per account (EASEL_MAX_QUEUED_JOBS); how many run at once is the dispatcher's (EASEL_MAX_CONCURRENT_JOBS). */
  maxQueuedJobs: number;
  /** Batches of an account waiting or running at once (EASEL_MAX_ACTIVE_BATCHES); default 10. */
  maxActiveBatches?: number;
  /** How long a job's files are kept after it ends, unless its request or account chose (EASEL_RETENTION_DAYS). */
  retentionS: number;
  /** A writer that lost its job tried a transition: nothing was written (logged and counted by the caller). */
  onStale?: (transition: string, fence: Fence) => void;
}

/** A submitted job; `replayed` when an Idempotency-Key named an existing job instead of creating one. */
export type SubmittedJob = JobRow & { replayed?: true };

/**
 * The job state machine's front door. Every transition is one small function in
 * src/jobs/transitions/, named for its verb, run here as one transaction that also writes the
 * ledger rows the transition justifies and settles the queue task, so a crash leaves either the
 * old state with its money or the new state with its money, never a mix. The transitions a worker
 * makes take the fence of its claim and write nothing once another claim owns the job.
 */
export class JobService {
  /** In-process wake-ups when a job changes here (waiters and SSE streams also re-read the store). */
  readonly changes = new JobChanges();
  /** Every status poll reads through here: built once (src/store/compiled-once.ts). */
  private readonly jobOfAccount: (id: string, accountId: string) => Promise<JobRow[]>;
  /** How long a job's files are kept after it ends, unless its request chose (EASEL_RETENTION_DAYS). */
  readonly retentionS: number;
  private readonly maxQueuedJobs: number;
  private readonly maxActiveBatches: number;
  private readonly onStale: (transition: string, fence: Fence) => void;

  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
    opts: JobServiceOptions,
  ) {
    this.maxQueuedJobs = opts.maxQueuedJobs;
    this.maxActiveBatches = opts.maxActiveBatches ?? 10;
    this.retentionS = opts.retentionS;
    this.onStale = opts.onStale ?? (() => undefined);
    this.jobOfAccount = compiledOnce(db, 2, (id, accountId) => db.selectFrom('jobs').selectAll().where('id', '=', id).where('account_id', '=', accountId));
  }

  async submit(input: SubmitInput): Promise<SubmittedJob> {
    // POST /v1/quote makes the same check on the same prepared input (src/api/routes/quote.ts).
    checkMaxCost(input.options, input.holdMicros);
    const job = await this.createOnce(input.accountId, input.idempotency, async () => {
      const row = newJobRow(input, newId(), Date.now(), await this.retentionFor(input));
      await this.insertJob(input, row);
      return row;
    });
    if (!job.replayed) this.queue.poke();
    return job;
  }

  /**
   * A batch (issue 21): its job and one job per item, every price held, in one transaction
   * (src/jobs/batch-submit.ts). The batch's job has no task of its own: its items' transitions move it.
   */
  async submitBatch(input: BatchSubmit): Promise<SubmittedJob> {
    checkMaxCost(input.options, input.items.reduce((a, i) => a + i.holdMicros, 0));
    const batch = await this.createOnce(input.accountId, input.idempotency, async () => {
      const models = new Set(input.items.map((i) => i.model));
      const row = newJobRow(
        { accountId: input.accountId, keyId: input.keyId, operation: BATCH_OPERATION, model: models.size === 1 ? [...models][0]! : null, request: input.request, holdMicros: 0, scenesTotal: input.items.length, requestId: input.requestId ?? null, options: input.options },
        newId(),
        Date.now(),
        await this.retentionFor(input),
      );
      await this.db.transaction().execute((trx) => insertBatch(trx, this.queue, input, row, { maxQueuedJobs: this.maxQueuedJobs, maxActiveBatches: this.maxActiveBatches }));
      return row;
    });
    // Every idle slot may take an item: one poke wakes one slot of each lane.
    if (!batch.replayed) for (let i = 0; i < Math.min(input.items.length, 64); i++) this.queue.poke();
    return batch;
  }

  /**
   * Creates a job once per Idempotency-Key: a key already used answers its job before anything is
   * written, and a key another request claimed while this one was creating (IdempotencyTaken from
   * the creating transaction) answers that request's job.
   */
  private async createOnce(accountId: string, claim: IdempotencyClaim | null | undefined, create: () => Promise<JobRow>): Promise<SubmittedJob> {
    if (claim) {
      const replay = await this.replayOf(accountId, claim);
      if (replay) return replay;
    }
    try {
      return await create();
    } catch (e) {
      if (e instanceof IdempotencyTaken && claim) {
        const replay = await this.replayOf(accountId, claim);
        if (replay) return replay;
      }
      throw e;
    }
  }

  private async replayOf(accountId: string, claim: IdempotencyClaim): Promise<SubmittedJob | null> {
    const jobId = await findIdempotent(this.db, accountId, claim);
    const job = jobId ? await this.getForAccount(jobId, accountId) : undefined;
    return job ? { ...job, replayed: true } : null;
  }

  private async insertJob(input: SubmitInput, row: JobRow): Promise<void> {
    const id = row.id;
    await this.db.transaction().execute(async (trx) => {
      if (input.idempotency) await claimIdempotency(trx, input.accountId, input.idempotency, id);
      await trx.insertInto('jobs').values(row).execute();
      await recordCreateExtras(trx, row, input.webhook, input.options?.metadata);
      await holdOrRefuse(trx, input.accountId, id, input.holdMicros, 'request');
      await checkBacklog(trx, input.accountId, this.maxQueuedJobs);
      await appendJobEvent(trx, row, 'job.created', { operation: row.operation, scenes_total: row.scenes_total });
      await this.queue.enqueue(trx, taskOf(row));
    });
  }


  /**
   * The transition runner: one transaction per transition, then in-process listeners are told.
   * A transition refused because its writer lost the job is logged and counted, and `LeaseLost` is
   * thrown so the stale run unwinds without writing anything more.
   */
  private async transition<T>(name: string, jobId: string, fence: Fence | null, run: (trx: Db, ctx: TransitionContext) => Promise<T | Stale>): Promise<T> {
    const ctx = this.ctx;
    const out = await this.db.transaction().execute(async (trx) => {
      const r = await run(trx, ctx);
      // Fault injection: every write made and every lock held, the commit not yet sent.
      crashPoint(`${name}_in_transaction`);
      return r;
    });
    if (out === STALE) {
      this.onStale(name, fence ?? { jobId, token: '' });
      throw new LeaseLost(name, jobId);
    }
    this.changed(jobId, ctx);
    return out;
  }

  /** A fresh context per transaction: `touched` collects the other jobs it changed (an item's batch). */
  private get ctx(): TransitionContext {
    return { queue: this.queue, expiresAt: (job, now) => this.expiresAt(job, now), touched: new Set() };
  }

  private changed(jobId: string, ctx: TransitionContext): void {
    this.changes.changed(jobId);
    for (const id of ctx.touched ?? []) this.changes.changed(id);
  }

  /** The claim takes the job (src/jobs/transitions/start.ts); `stale` when the queue no longer gives it this claim. */
  async start(fence: Fence): Promise<StartOutcome> {
    const ctx = this.ctx;
    const out = await this.db.transaction().execute((trx) => start(trx, ctx, fence));
    if (out.outcome === STALE) this.onStale('start', fence);
    else this.changed(fence.jobId, ctx);
    return out;
  }

  /**
   * Between steps: go on, stop for a cancel, or stop because the claim no longer owns the job
   * (counted as a stale write: the run was about to spend or store something for a job it lost).
   */
  async checkpoint(fence: Fence): Promise<'go' | 'cancel' | 'lost'> {
    const at = await checkpoint(this.db, fence);
    if (at === 'lost') this.onStale('checkpoint', fence);
    return at;
  }

  /**
   * Before a run writes files for its job: throws LeaseLost when its claim no longer owns the job,
   * so a worker that paused past its lease stores nothing when it wakes. (Recorded files live
   * under per-run keys besides, so even a write that slips between this check and the put can
   * never replace what another run recorded.)
   */
  async assertOwned(fence: Fence): Promise<void> {
    if ((await this.checkpoint(fence)) === 'lost') throw new LeaseLost('store', fence.jobId);
  }

  /** One finished step, captured in its transaction (false: an earlier run recorded it first). */
  async recordStep(fence: Fence, step: StepRecord): Promise<boolean> {
    return (await this.transition('record_step', fence.jobId, fence, (trx) => recordStep(trx, fence, step))) === 'recorded';
  }

  /**
   * What the running attempt reports now (src/progress/reporter.ts), fenced; in-process listeners
   * (event streams) are woken. False: the claim no longer owns the job (the run stops reporting;
   * its next transition finds out the same and unwinds).
   */
  async recordProgress(fence: Fence, progressJson: string): Promise<boolean> {
    const ok = await recordProgress(this.db, fence, progressJson);
    if (ok) this.changes.changed(fence.jobId);
    return ok;
  }

  /** A scene that failed for good, kept for the per-scene view and a later retry; nothing charged. */
  async recordFailedScene(fence: Fence, scene: { step: string; ordinal: number; index: number }, error: { code: string; message: string }): Promise<void> {
    await this.transition('record_failed_scene', fence.jobId, fence, (trx) => recordFailedScene(trx, fence, scene, error));
  }

  /** Completes the job (or settles it canceled, if a client asked meanwhile). True when it completed. */
  async complete(fence: Fence, finalCaptureMicros: number, buildResult: ResultBuilder): Promise<boolean> {
    return (await this.transition('complete', fence.jobId, fence, (trx, ctx) => complete(trx, ctx, fence, finalCaptureMicros, buildResult))) === 'completed';
  }

  /** The worker fails its job: finished work stays charged, the rest is released. */
  async fail(fence: Fence, code: string, message: string): Promise<void> {
    await this.transition('fail', fence.jobId, fence, (trx, ctx) => fail(trx, ctx, fence, { code, message }));
  }

  /** A retryable failure: the job keeps running for clients and its task comes back at `runAt`. */
  async retryLater(fence: Fence, runAt: number, error: string): Promise<void> {
    await this.transition('retry_later', fence.jobId, fence, (trx, ctx) => retryLater(trx, ctx, fence, runAt, error));
  }

  /** Graceful shutdown: the claim gives its job back for another worker, the attempt not counted. */
  async release(fence: Fence): Promise<void> {
    await this.transition('release', fence.jobId, fence, (trx, ctx) => releaseClaim(trx, ctx, fence));
  }

  /** The queue engine gave up on a job whose workers kept dying: fail it with a clear error. */
  async abandon(jobId: string, code: string, message: string): Promise<void> {
    await this.transition('abandon', jobId, null, (trx, ctx) => abandon(trx, ctx, jobId, { code, message }));
  }

  /** A client's cancel (src/jobs/transitions/cancel.ts). Returns the row as it now is. */
  async cancel(id: string, accountId: string): Promise<JobRow | undefined> {
    return this.transition('cancel', id, null, (trx, ctx) => cancel(trx, ctx, id, accountId));
  }

  /**
   * A client's scene retry: the job runs again for that scene; idle workers are told at once.
   * `priceOf` is the story's rule for the scene (src/story/scenes.ts), passed in so the job core
   * does not depend on the story.
   */
  async retryScene(id: string, accountId: string, index: number, priceOf: SceneRetryPrice): Promise<JobRow | undefined> {
    const row = await this.transition('retry_scene', id, null, (trx, ctx) => retryScene(trx, ctx, { id, accountId, index }, priceOf));
    this.queue.poke();
    return row;
  }

  async get(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The account filter is part of the query itself: another account's job is indistinguishable from none. */
  async getForAccount(id: string, accountId: string): Promise<JobRow | undefined> {
    return (await this.jobOfAccount(id, accountId))[0];
  }

  /** A page of the account's jobs: after a job id (cursor) or at an offset (src/jobs/list.ts). */
  async list(accountId: string, page: PageAt<string>, filters: JobFilters = {}): Promise<PageOf<JobRow>> {
    return listJobs(this.db, accountId, page, filters);
  }

  /** The request's retention_days, else the account's default, else null (the server default at settle time). */
  private async retentionFor(input: Pick<SubmitInput, 'options' | 'accountId'>): Promise<number | null> {
    if (input.options?.retentionDays) return input.options.retentionDays * 86_400;
    const acct = await this.db.selectFrom('accounts').select('retention_days').where('id', '=', input.accountId).executeTakeFirst();
    return acct?.retention_days ? Number(acct.retention_days) * 86_400 : null;
  }

  /** When a job ending now may have its files deleted. */
  expiresAt(job: Pick<JobRow, 'retention_s'>, now = Date.now()): number {
    return now + Number(job.retention_s ?? this.retentionS) * 1000;
  }

  /** The finished (recorded and charged) steps of a job. */
  async steps(jobId: string) {
    return this.db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).where('status', '=', 'completed').orderBy('ordinal').execute();
  }

  /** Every step row, failed scenes included (for the per-scene view). */
  async allSteps(jobId: string) {
    return this.db.selectFrom('job_steps').selectAll().where('job_id', '=', jobId).orderBy('ordinal').execute();
  }

  /**
   * Resolves when the job is terminal or the timeout passes. Listens for in-process changes and
   * re-reads the row on a short interval for changes made by another process.
   */
  async waitForTerminal(id: string, timeoutMs: number): Promise<JobRow | undefined> {
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | null = null;
    const off = this.changes.on(id, () => wake?.());
    try {
      for (;;) {
        // The job was accepted: a database that is briefly away (a restart, a lock) does not end
        // the wait; past the deadline without an answer the caller is told to poll (503).
        const job = await this.get(id).catch((e: unknown) => {
          if (dependencyFault(e)) return 'unreachable' as const;
          throw e;
        });
        if (job === 'unreachable') {
          if (Date.now() >= deadline) return undefined;
        } else if (!job || TERMINAL.has(job.status) || Date.now() >= deadline) return job;
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(250, Math.max(1, deadline - Date.now())));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = null;
      }
    } finally {
      off();
    }
  }
}
