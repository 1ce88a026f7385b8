import type { Logger } from 'pino';
import type { Db } from '../store/db.js';
import type { Presenter } from '../views/present.js';
import { guardedRequest, UrlRefused } from '../net/guarded-fetch.js';
import { newId } from '../util/ids.js';
import { signingSecrets, webhookSettings } from './secret.js';
import type { SecretBox } from './secret-box.js';
import { signedHeaders } from './sign.js';
import { eventEnvelope, progressEnvelope } from './payload.js';
import { PROGRESS_EVENT } from '../progress/webhook.js';
import { webhookRetryDelayMs } from './backoff.js';
import { webhookDeliveries, webhookLatency } from '../observability/metrics.js';

export interface DispatcherOptions {
  retryBaseMs: number;
  timeoutMs: number;
  retryWindowMs: number;
  pollMs: number;
  allowLoopbackHttp: boolean;
}

/** A URL that no retry can make acceptable: the delivery fails at once. */
const FATAL_REFUSALS = new Set(['scheme', 'credentials', 'bad_url', 'private_address']);
const BATCH = 10;

interface Outcome {
  statusCode: number | null;
  error: string | null;
  fatal: boolean;
}

/**
 * Sends the webhook outbox. Runs in every worker process; several may run against one database:
 * a delivery is claimed with a conditional UPDATE (lease), so only one process sends an attempt,
 * and a process that dies mid-attempt loses only its lease — the delivery is due again when the
 * lease runs out. At-least-once: a receiver may see an attempt twice and de-duplicates by webhook-id.
 */
export class WebhookDispatcher {
  private readonly owner = `wh-${process.pid}-${newId().slice(-8)}`;
  private stopping = false;
  private loop: Promise<void> | null = null;
  private wakeUp: (() => void) | null = null;

  constructor(
    private readonly db: Db,
    private readonly secretBox: SecretBox,
    private readonly presenter: Presenter,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Finishes the attempts in flight (each bounded by the request timeout), then stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loop;
  }

  private get leaseMs(): number {
    return this.opts.timeoutMs + 5_000;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      let claimed: string[] = [];
      try {
        claimed = await this.claim();
        await Promise.all(claimed.map((id) => this.attempt(id)));
      } catch (e) {
        this.log.warn({ err: e }, 'webhook dispatch failed');
      }
      if (claimed.length === BATCH) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.pollMs);
        this.wakeUp = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeUp = null;
    }
  }

  private async claim(): Promise<string[]> {
    const now = Date.now();
    const due = await this.db
      .selectFrom('webhook_deliveries')
      .select('id')
      .where('status', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
      .orderBy('next_attempt_at')
      .limit(BATCH)
      .execute();
    const mine: string[] = [];
    for (const { id } of due) {
      const r = await this.db
        .updateTable('webhook_deliveries')
        .set({ lease_owner: this.owner, lease_expires_at: now + this.leaseMs })
        .where('id', '=', id)
        .where('status', '=', 'pending')
        .where((eb) => eb.or([eb('lease_expires_at', 'is', null), eb('lease_expires_at', '<', now)]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) mine.push(id);
    }
    return mine;
  }

  private async attempt(id: string): Promise<void> {
    const d = await this.db.selectFrom('webhook_deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const job = await this.db.selectFrom('jobs').selectAll().where('id', '=', d.job_id).executeTakeFirst();
    const started = Date.now();
    if (d.event_type === PROGRESS_EVENT) {
      // Built when sent, from the job's progress now (src/progress/webhook.ts); a job no longer running has none to tell.
      const envelope = job ? await progressEnvelope(this.presenter, job) : null;
      if (!envelope) {
        await this.db.deleteFrom('webhook_deliveries').where('id', '=', d.id).where('lease_owner', '=', this.owner).execute();
        return;
      }
      const secrets = signingSecrets(await webhookSettings(this.db, this.secretBox, d.account_id));
      await this.settle(d, started, await this.send(d.url, id, secrets, JSON.stringify(envelope)));
      return;
    }
    const ev = await this.db.selectFrom('job_events').selectAll().where('job_id', '=', d.job_id).where('seq', '=', Number(d.seq)).executeTakeFirst();
    let outcome: Outcome;
    if (!job || !ev) {
      outcome = { statusCode: null, error: 'the job or its event no longer exists', fatal: true };
    } else {
      const secrets = signingSecrets(await webhookSettings(this.db, this.secretBox, d.account_id));
      const body = JSON.stringify(
        await eventEnvelope(this.presenter, job, { job_id: ev.job_id, seq: Number(ev.seq), type: ev.type, data: JSON.parse(ev.data_json), created_at: Number(ev.created_at) }),
      );
      outcome = await this.send(d.url, id, secrets, body);
    }
    await this.settle(d, started, outcome);
  }

  private async send(url: string, id: string, secrets: string[], body: string): Promise<Outcome> {
    try {
      const res = await guardedRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': 'Easel-Webhooks/1', ...signedHeaders(secrets, id, body) }, body },
        // No redirects: a webhook URL is configured, not discovered; a 3xx counts as a failure.
        { timeoutMs: this.opts.timeoutMs, maxRedirects: 0, allowLoopbackHttp: this.opts.allowLoopbackHttp, maxBytes: 64 * 1024 },
      );
      const ok = res.status >= 200 && res.status <= 299;
      return { statusCode: res.status, error: ok ? null : `HTTP ${res.status}`, fatal: false };
    } catch (e) {
      if (e instanceof UrlRefused) return { statusCode: null, error: `${e.reason}: ${e.message}`, fatal: FATAL_REFUSALS.has(e.reason) };
      return { statusCode: null, error: e instanceof Error ? e.message : String(e), fatal: false };
    }
  }

  /** Records the attempt and the delivery's next state together, only while we still hold the lease. */
  private async settle(d: { id: string; attempts: number; window_started_at: number }, started: number, o: Outcome): Promise<void> {
    const now = Date.now();
    const attempt = Number(d.attempts) + 1;
    const ok = o.statusCode !== null && o.statusCode >= 200 && o.statusCode <= 299;
    const delay = webhookRetryDelayMs(attempt, this.opts.retryBaseMs);
    const giveUp = !ok && (o.fatal || now + delay > Number(d.window_started_at) + this.opts.retryWindowMs);
    const status = ok ? 'succeeded' : giveUp ? 'failed' : 'pending';
    try {
      await this.db.transaction().execute(async (trx) => {
        const r = await trx
          .updateTable('webhook_deliveries')
          .set({ status, attempts: attempt, next_attempt_at: status === 'pending' ? now + delay : null, lease_owner: null, lease_expires_at: null, updated_at: now })
          .where('id', '=', d.id)
          .where('lease_owner', '=', this.owner)
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) !== 1) throw new Error('lease lost');
        await trx
          .insertInto('webhook_attempts')
          .values({ delivery_id: d.id, attempt, started_at: started, status_code: o.statusCode, latency_ms: now - started, error: o.error ? o.error.slice(0, 500) : null })
          .execute();
      });
    } catch (e) {
      this.log.warn({ err: e, delivery_id: d.id }, 'webhook attempt not recorded (lease lost)');
      return;
    }
    webhookDeliveries.inc({ outcome: ok ? 'delivered' : giveUp ? 'gave_up' : 'failed' });
    webhookLatency.observe((now - started) / 1000);
    this.log.info({ delivery_id: d.id, attempt, status, status_code: o.statusCode, error: o.error }, 'webhook attempt');
  }
}
