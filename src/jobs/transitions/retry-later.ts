import type { Db } from '../../store/db.js';
import { ownedJob, STALE, updateOwned, type Fence, type Stale, type TransitionContext } from './context.js';

/**
 * The run failed in a way the next attempt may not (a vendor 5xx, a timeout): the job stays
 * `processing` for clients, gives up its token, and its task runs again at `runAt` (the queue
 * engine may add its own backoff).
 */
export async function retryLater(trx: Db, ctx: TransitionContext, fence: Fence, runAt: number, error: string): Promise<'scheduled' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  await updateOwned(trx, fence).set({ lease_token: null, progress_json: null, updated_at: Date.now() }).execute();
  await ctx.queue.retryLater(trx, job.id, fence.token, runAt, error);
  return 'scheduled';
}
