import type { Db } from '../store/db.js';
import { insertDelivery } from '../jobs/webhook-outbox.js';

/** The event type of a progress report; never stored in job_events (progress is "now", not history). */
export const PROGRESS_EVENT = 'job.progress';

/** Progress webhooks are opt-in: only a job whose webhook names `job.progress` in its events gets them. */
export async function wantsProgressWebhook(db: Db, jobId: string): Promise<boolean> {
  const hook = await db.selectFrom('job_webhooks').select('events_json').where('job_id', '=', jobId).executeTakeFirst();
  if (!hook?.events_json) return false;
  return (JSON.parse(hook.events_json) as string[]).includes(PROGRESS_EVENT);
}

/**
 * Queues one `job.progress` delivery unless one is still waiting: the dispatcher builds its body
 * from the job's progress when it sends (src/webhooks/dispatcher.ts), so the waiting one already
 * carries the latest report — a slow receiver gets fewer, never a growing backlog. `seq` 0: the
 * delivery names no stored event.
 */
export async function enqueueProgressDelivery(db: Db, job: { id: string; account_id: string }): Promise<void> {
  const hook = await db.selectFrom('job_webhooks').select('url').where('job_id', '=', job.id).executeTakeFirst();
  if (!hook) return;
  const waiting = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('job_id', '=', job.id)
    .where('event_type', '=', PROGRESS_EVENT)
    .where('status', '=', 'pending')
    .executeTakeFirst();
  if (waiting) return;
  await insertDelivery(db, job, 0, PROGRESS_EVENT, hook.url);
}
