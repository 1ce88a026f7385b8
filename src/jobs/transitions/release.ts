import type { Db } from '../../store/db.js';
import { ownedJob, STALE, updateOwned, type Fence, type Stale, type TransitionContext } from './context.js';

/**
 * Graceful shutdown: the worker gives its running job back at once, without counting the attempt.
 * The job keeps its recorded steps and money; the next claim resumes it.
 */
export async function releaseClaim(trx: Db, ctx: TransitionContext, fence: Fence): Promise<'released' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  await updateOwned(trx, fence).set({ lease_token: null, progress_json: null, updated_at: Date.now() }).execute();
  await ctx.queue.release(trx, job.id, fence.token);
  return 'released';
}
