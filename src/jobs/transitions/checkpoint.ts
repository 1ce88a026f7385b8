import type { Db } from '../../store/db.js';
import { TERMINAL } from '../types.js';
import type { Fence } from './context.js';

/**
 * Asked between steps, before anything is spent on the next one: `go` while the claim still owns
 * the job and nobody asked to cancel it; `cancel` when a client asked; `lost` when another claim
 * owns the job or it ended. A read, not a transition: the transitions themselves stay fenced.
 */
export async function checkpoint(db: Db, fence: Fence): Promise<'go' | 'cancel' | 'lost'> {
  const r = await db.selectFrom('jobs').select(['lease_token', 'status', 'cancel_requested_at']).where('id', '=', fence.jobId).executeTakeFirst();
  if (!r || r.lease_token !== fence.token || TERMINAL.has(r.status)) return 'lost';
  return r.cancel_requested_at != null ? 'cancel' : 'go';
}
