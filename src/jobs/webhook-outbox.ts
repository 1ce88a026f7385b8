import type { Db } from '../store/db.js';
import { newId } from '../util/ids.js';

export interface RequestedWebhook {
  url: string;
  events: string[] | null;
}

/**
 * Fixes the webhook a new job reports to, inside its creating transaction: the request's
 * webhook_url, else the account default as it is now (changing the default later does not
 * redirect jobs already created). No row: the job has no webhook.
 */
export async function attachJobWebhook(trx: Db, job: { id: string; account_id: string }, requested: RequestedWebhook | null | undefined): Promise<void> {
  let target = requested ?? null;
  if (!target) {
    const d = await trx.selectFrom('webhook_endpoints').select(['url', 'events_json']).where('account_id', '=', job.account_id).executeTakeFirst();
    if (d?.url) target = { url: d.url, events: d.events_json ? (JSON.parse(d.events_json) as string[]) : null };
  }
  if (!target) return;
  await trx
    .insertInto('job_webhooks')
    .values({ job_id: job.id, account_id: job.account_id, url: target.url, events_json: target.events ? JSON.stringify(target.events) : null })
    .execute();
}

/**
 * Called by appendJobEvent for every new event, in the event's transaction: the outbox row and
 * the event commit together, so a delivery can be neither lost (crash after the event) nor
 * invented (event rolled back). The dispatcher sends it later.
 */
export async function enqueueDelivery(trx: Db, job: { id: string; account_id: string }, seq: number, type: string): Promise<void> {
  const hook = await trx.selectFrom('job_webhooks').select(['url', 'events_json']).where('job_id', '=', job.id).executeTakeFirst();
  if (!hook) return;
  if (hook.events_json && !(JSON.parse(hook.events_json) as string[]).includes(type)) return;
  await insertDelivery(trx, job, seq, type, hook.url);
}

/** One pending delivery row (the dispatcher sends it); `seq` 0 for job.progress, which names no stored event. */
export async function insertDelivery(db: Db, job: { id: string; account_id: string }, seq: number, type: string, url: string): Promise<void> {
  const now = Date.now();
  await db
    .insertInto('webhook_deliveries')
    .values({
      id: `msg_${newId().replace(/-/g, '')}`,
      account_id: job.account_id,
      job_id: job.id,
      seq,
      event_type: type,
      url,
      status: 'pending',
      attempts: 0,
      next_attempt_at: now,
      window_started_at: now,
      lease_owner: null,
      lease_expires_at: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
}
