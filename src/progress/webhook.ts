import type { Db } from '../store/db.js';
import { insertDelivery } from '../jobs/webhook-outbox.js';

/** The event type of a progress report; never stored in job_events (progress is "now", not history). */
export const PROGRESS_EVENT = 'job.progress';

/**
 * Progress webhooks are opt-in: the URL of a job whose webhook names `job.progress` in its events,
 * else null. Read once per attempt (the job's webhook is fixed when it is created).
 */
export async function progressWebhookUrl(db: Db, jobId: string): Promise<string | null> {
  const hook = await db.selectFrom('job_webhooks').select(['url', 'events_json']).where('job_id', '=', jobId).executeTakeFirst();
  if (!hook?.events_json) return null;
  return (JSON.parse(hook.events_json) as string[]).includes(PROGRESS_EVENT) ? hook.url : null;
}

/**
 * Queues one `job.progress` delivery unless one is still waiting: the dispatcher builds its body
 * from the job's progress when it sends (src/webhooks/dispatcher.ts), so the waiting one already
 * carries the latest report — a slow receiver gets fewer, never a growing backlog. `seq` 0: the
 * delivery names no stored event.
 */
export async function enqueueProgressDelivery(db: Db, job: { id: string; account_id: string }, url: string): Promise<void> {
  const waiting = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('job_id', '=', job.id)
    .where('event_type', '=', PROGRESS_EVENT)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (waiting) return;
  await insertDelivery(db, job, 0, PROGRESS_EVENT, url);
}
