import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { JobRow } from './row.js';
import type { JobQueue } from '../queue/port.js';
import { JobEvents } from './events.js';
import { EaselError } from '../errors.js';
import { capture, release, balanceOf } from '../billing/ledger.js';
import { holdOrRefuse } from '../billing/credit-insufficient.js';
import { microsToEur } from '../util/money.js';
import { newId } from '../util/ids.js';
import { TERMINAL } from './types.js';
import { compiledOnce } from '../store/compiled-once.js';
import { appendJobEvent } from './event-log.js';
import type { IdempotencyClaim } from '../idempotency/request.js';
import { IdempotencyTaken, claimIdempotency, findIdempotent } from '../idempotency/store.js';
import { attachJobWebhook, type RequestedWebhook } from '../webhooks/outbox.js';
import { checkMaxCost, type JobOptions } from './options.js';
import { settleCanceled, notCancelable } from './cancel.js';
import { listJobs, type JobFilters } from './list.js';

/**
 * Takes the job row's lock for the rest of the transaction (PostgreSQL: a row lock, so two workers
 * settling one job serialise; SQLite: the transaction already holds the database write lock).
 * Written as a no-op UPDATE because that is the one portable way to lock a row.
 */
export async function lockJob(trx: Db, id: string): Promise<void> {
  await trx.updateTable('jobs').set({ updated_at: sql`updated_at` }).where('id', '=', id).execute();
}

export interface SubmitInput {
  accountId: string;
  keyId: string | null;
  operation: string;
  model: string | null;
  request: unknown;
  holdMicros: number;
  scenesTotal: number;
  /** The HTTP request that created the job: the worker logs it. */
  requestId?: string | null;
  /** max_cost_eur, metadata, retention_days of the create request (src/jobs/options.ts). */
  options?: JobOptions;
  /** Idempotency-Key of the create request: the key is stored in the job's transaction (src/idempotency). */
  idempotency?: IdempotencyClaim | null;
  /** webhook_url / webhook_events of the create request; null/absent = the account default, if any. */
  webhook?: RequestedWebhook | null;
}

/** A submitted job; `replayed` when an Idempotency-Key named an existing job instead of creating one. */
export type SubmittedJob = JobRow & { replayed?: true };

/**
 * The job state machine. Every transition is one transaction that also writes the ledger rows
 * the transition justifies and settles the queue task, so a crash leaves either the old state
 * with its money or the new state with its money, never a mix.
 */
export class JobService {
  readonly events = new JobEvents();
  /** Every status poll reads through here: built once (src/store/compiled-once.ts). */
  private readonly jobOfAccount: (id: string, accountId: string) => Promise<JobRow[]>;
  /** How long a job's files are kept after it ends, unless its request chose (EASEL_RETENTION_DAYS). */
  retentionS = 30 * 86_400;

  constructor(
    private readonly db: Db,
    private readonly queue: JobQueue,
    private readonly maxConcurrentJobs: number,
  ) {
    this.jobOfAccount = compiledOnce(db, 2, (id, accountId) => db.selectFrom('jobs').selectAll().where('id', '=', id).where('account_id', '=', accountId));
  }

  async submit(input: SubmitInput): Promise<SubmittedJob> {
    // POST /v1/quote makes the same check on the same prepared input (src/api/routes/quote.ts).
    checkMaxCost(input.options, input.holdMicros);
    if (input.idempotency) {
      const replay = await this.replayOf(input.accountId, input.idempotency);
      if (replay) return replay;
    }
    const id = newId();
    const now = Date.now();
    const row: JobRow = {
      id,
      account_id: input.accountId,
      key_id: input.keyId,
      operation: input.operation,
      status: 'pending',
      model: input.model,
      request_json: JSON.stringify(input.request),
      result_json: null,
      error_code: null,
      error_message: null,
      scenes_total: input.scenesTotal,
      scenes_completed: 0,
      hold_micros: input.holdMicros,
      charged_micros: 0,
      refunded_micros: 0,
      attempts: 0,
      created_at: now,
      started_at: null,
      completed_at: null,
      updated_at: now,
      request_id: input.requestId ?? null,
      metadata_json: input.options?.metadata ? JSON.stringify(input.options.metadata) : null,
      max_cost_micros: input.options?.maxCostMicros ?? null,
      retention_s: await this.retentionFor(input),
      cancel_requested_at: null,
      result_expires_at: null,
      result_expired_at: null,
      retry_scene: null,
    };
    try {
      await this.insertJob(input, row);
    } catch (e) {
      // Another request with the same key committed first: answer with its job.
      if (e instanceof IdempotencyTaken) {
        const replay = await this.replayOf(input.accountId, input.idempotency!);
        if (replay) return replay;
      }
      throw e;
    }
    this.queue.poke();
    return row;
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
      await attachJobWebhook(trx, row, input.webhook);
      const pairs = Object.entries(input.options?.metadata ?? {});
      if (pairs.length > 0) await trx.insertInto('job_metadata').values(pairs.map(([key, value]) => ({ job_id: id, account_id: input.accountId, key, value }))).execute();
      await holdOrRefuse(trx, input.accountId, id, input.holdMicros, 'request');
      const active = await trx
        .selectFrom('jobs')
        .select(sql<number>`count(*)`.as('n'))
        .where('account_id', '=', input.accountId)
        .where('status', 'in', ['pending', 'processing'])
        .executeTakeFirstOrThrow();
      if (Number(active.n) > this.maxConcurrentJobs) {
        throw new EaselError(
          429,
          'rate_limited',
          `At most ${this.maxConcurrentJobs} generations may run at once for an account; wait for one to finish.`,
          { limit: this.maxConcurrentJobs },
          { 'retry-after': '2' },
        );
      }
      await appendJobEvent(trx, row, 'job.created', { operation: row.operation, scenes_total: row.scenes_total });
      await this.queue.enqueue(trx, id);
    });
  }

  /** Drops the queue task of a job that is already terminal (a crash after settling left it behind). */
  async discardTask(id: string): Promise<void> {
    await this.db.transaction().execute((trx) => this.queue.complete(trx, id));
  }

  async get(id: string): Promise<JobRow | undefined> {
    return this.db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The account filter is part of the query itself: another account's job is indistinguishable from none. */
  async getForAccount(id: string, accountId: string): Promise<JobRow | undefined> {
    return (await this.jobOfAccount(id, accountId))[0];
  }

  async list(accountId: string, limit: number, offset: number, filters: JobFilters = {}): Promise<{ rows: JobRow[]; total: number }> {
    return listJobs(this.db, accountId, limit, offset, filters);
  }

  /** The request's retention_days, else the account's default, else null (the server default at settle time). */
  private async retentionFor(input: SubmitInput): Promise<number | null> {
    if (input.options?.retentionDays) return input.options.retentionDays * 86_400;
    const acct = await this.db.selectFrom('accounts').select('retention_days').where('id', '=', input.accountId).executeTakeFirst();
    return acct?.retention_days ? Number(acct.retention_days) * 86_400 : null;
  }

  /** When a job ending now may have its files deleted. */
  expiresAt(job: Pick<JobRow, 'retention_s'>, now = Date.now()): number {
    return now + Number(job.retention_s ?? this.retentionS) * 1000;
  }

  /**
   * Cancels a job of this account. Pending: canceled at once (hold released, task removed).
   * Processing: the request is recorded and the worker ends the job at its next step (a story
   * finishes the scene in flight; a single image is discarded uncharged when its call returns).
   * Terminal: 409 conflict (the spec's code for a state conflict). Returns the row as it now is.
   */
  async cancel(id: string, accountId: string): Promise<JobRow | undefined> {
    const row = await this.db.transaction().execute(async (trx) => {
      await lockJob(trx, id);
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', id).where('account_id', '=', accountId).executeTakeFirst();
      if (!job) return undefined;
      if (TERMINAL.has(job.status)) throw notCancelable(job);
      if (job.status === 'pending') await settleCanceled(trx, this.queue, job, this.expiresAt(job));
      else if (job.cancel_requested_at == null) await trx.updateTable('jobs').set({ cancel_requested_at: Date.now(), updated_at: Date.now() }).where('id', '=', id).execute();
      return trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
    if (row) this.events.changed(id);
    return row;
  }

  /** Whether a client asked to cancel this job (checked by pipelines between steps). */
  async cancelRequested(id: string): Promise<boolean> {
    const r = await this.db.selectFrom('jobs').select(['cancel_requested_at', 'status']).where('id', '=', id).executeTakeFirst();
    return !r || r.cancel_requested_at != null || TERMINAL.has(r.status);
  }

  /** false: the job is terminal (canceled while its task was being claimed) and must not run. */
  async markStarted(id: string): Promise<boolean> {
    const now = Date.now();
    const started = await this.db.transaction().execute(async (trx) => {
      await lockJob(trx, id);
      const job = await trx.selectFrom('jobs').select(['id', 'account_id', 'status', 'attempts']).where('id', '=', id).executeTakeFirst();
      if (!job || TERMINAL.has(job.status)) return false;
      await trx
        .updateTable('jobs')
        .set({ status: 'processing', started_at: sql`coalesce(started_at, ${now})`, attempts: sql`attempts + 1`, updated_at: now })
        .where('id', '=', id)
        .execute();
      // A retried attempt is not a new start: clients see job.started once.
      if (job.status === 'pending') await appendJobEvent(trx, job, 'job.started', { attempt: Number(job.attempts) + 1 });
      return true;
    });
    this.events.changed(id);
    return started;
  }

  /**
   * Records one finished unit of work (a portrait, a scene) and captures its price in the same
   * transaction, so a stored step is charged exactly once. Returns false if the step was already
   * recorded (a resumed run raced an earlier one) — nothing is charged twice.
   */
  async recordStep(
    jobId: string,
    step: { step: string; ordinal: number; output: unknown; costMicros: number; countsAsScene: boolean },
  ): Promise<boolean> {
    const recorded = await this.db.transaction().execute(async (trx) => {
      await lockJob(trx, jobId);
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
      if (!job || TERMINAL.has(job.status)) return false;
      const existing = await trx.selectFrom('job_steps').select('status').where('job_id', '=', jobId).where('step', '=', step.step).executeTakeFirst();
      if (existing?.status === 'completed') return false;
      // A failed attempt of this scene (recorded for the client) gives way to its success.
      if (existing) await trx.deleteFrom('job_steps').where('job_id', '=', jobId).where('step', '=', step.step).execute();
      const remaining = Number(job.hold_micros) - Number(job.charged_micros) - Number(job.refunded_micros);
      const take = Math.min(step.costMicros, remaining);
      await trx
        .insertInto('job_steps')
        .values({ job_id: jobId, step: step.step, ordinal: step.ordinal, status: 'completed', output_json: JSON.stringify(step.output), cost_micros: take, created_at: Date.now() })
        .execute();
      await capture(trx, job.account_id, jobId, take, `step ${step.step}`);
      await trx
        .updateTable('jobs')
        .set({
          charged_micros: Number(job.charged_micros) + take,
          scenes_completed: step.countsAsScene ? sql`scenes_completed + 1` : sql`scenes_completed`,
          updated_at: Date.now(),
        })
        .where('id', '=', jobId)
        .execute();
      if (step.countsAsScene) {
        await appendJobEvent(trx, job, 'scene.completed', {
          step: step.step,
          scene: step.ordinal,
          scenes_completed: Number(job.scenes_completed) + 1,
          scenes_total: Number(job.scenes_total),
          cost_eur: microsToEur(take),
        });
      }
      return true;
    });
    if (recorded) this.events.changed(jobId);
    return recorded;
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
   * Completes a job: captures `finalCaptureMicros` (on top of anything captured step by step),
   * releases what is left of the hold, stores the result, and removes the queue task.
   * `buildResult` receives the balance after settlement so the stored result can quote it.
   */
  async complete(
    id: string,
    finalCaptureMicros: number,
    buildResult: (balanceAfterMicros: number, totalChargedMicros: number) => unknown,
  ): Promise<boolean> {
    const done = await this.db.transaction().execute(async (trx) => {
      await lockJob(trx, id);
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!job || TERMINAL.has(job.status)) {
        await this.queue.complete(trx, id);
        return false;
      }
      // Canceled while running: the result is discarded and its final price not charged.
      if (job.cancel_requested_at != null) {
        await settleCanceled(trx, this.queue, job, this.expiresAt(job));
        return false;
      }
      const remaining = Number(job.hold_micros) - Number(job.charged_micros) - Number(job.refunded_micros);
      const take = Math.min(finalCaptureMicros, remaining);
      await capture(trx, job.account_id, id, take, 'job completed');
      await release(trx, job.account_id, id, remaining - take, 'unused hold returned');
      const bal = await balanceOf(trx, job.account_id);
      const charged = Number(job.charged_micros) + take;
      const now = Date.now();
      await trx
        .updateTable('jobs')
        .set({
          status: 'completed',
          result_json: JSON.stringify(buildResult(bal.available, charged)),
          charged_micros: charged,
          refunded_micros: Number(job.refunded_micros) + (remaining - take),
          scenes_completed: job.scenes_total,
          error_code: null,
          error_message: null,
          retry_scene: null,
          completed_at: now,
          updated_at: now,
          result_expires_at: this.expiresAt(job, now),
        })
        .where('id', '=', id)
        .execute();
      await appendJobEvent(trx, job, 'job.completed', { charged_eur: microsToEur(charged), refunded_eur: microsToEur(Number(job.refunded_micros) + (remaining - take)) });
      await this.queue.complete(trx, id);
      return true;
    });
    this.events.changed(id);
    return done;
  }

  /** Fails a job: what was captured stays captured (finished work), everything else is released. */
  async fail(id: string, code: string, message: string): Promise<boolean> {
    const done = await this.db.transaction().execute(async (trx) => {
      await lockJob(trx, id);
      const job = await trx.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
      if (!job || TERMINAL.has(job.status)) {
        await this.queue.complete(trx, id);
        return false;
      }
      // A failure after a cancel request (the pipeline stopped for it, or failed meanwhile) ends canceled.
      if (job.cancel_requested_at != null) {
        await settleCanceled(trx, this.queue, job, this.expiresAt(job));
        return true;
      }
      const remaining = Number(job.hold_micros) - Number(job.charged_micros) - Number(job.refunded_micros);
      await release(trx, job.account_id, id, remaining, `job failed: ${code}`);
      const now = Date.now();
      await trx
        .updateTable('jobs')
        .set({
          status: 'failed',
          error_code: code,
          error_message: message.slice(0, 2000),
          refunded_micros: Number(job.refunded_micros) + remaining,
          started_at: sql`coalesce(started_at, ${now})`,
          retry_scene: null,
          completed_at: now,
          updated_at: now,
          result_expires_at: this.expiresAt(job, now),
        })
        .where('id', '=', id)
        .execute();
      await appendJobEvent(trx, job, 'job.failed', { code, message: message.slice(0, 2000), refunded_eur: microsToEur(Number(job.refunded_micros) + remaining) });
      await this.queue.complete(trx, id);
      return true;
    });
    this.events.changed(id);
    return done;
  }

  /**
   * Resolves when the job is terminal or the timeout passes. Listens for in-process changes and
   * re-reads the row on a short interval for changes made by another process.
   */
  async waitForTerminal(id: string, timeoutMs: number): Promise<JobRow | undefined> {
    const deadline = Date.now() + timeoutMs;
    let wake: (() => void) | null = null;
    const off = this.events.on(id, () => wake?.());
    try {
      for (;;) {
        const job = await this.get(id);
        if (!job || TERMINAL.has(job.status) || Date.now() >= deadline) return job;
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
