import type { Db } from '../../store/db.js';
import { appendJobEvent } from '../event-log.js';
import { ownedJob, STALE, type Fence, type Stale } from './context.js';

/** What a failed scene keeps in `job_steps.output_json` (status 'failed', cost 0). */
export interface FailedSceneOutput {
  kind: 'scene';
  index: number;
  error: { code: string; message: string };
}

/**
 * Records that a scene failed for good (a refusal, a provider error that will not pass), with its
 * error, and appends `scene.failed`. Durable so the per-scene view and a later retry know which
 * scene it was even after the job settled. Nothing is charged for it.
 */
export async function recordFailedScene(
  trx: Db,
  fence: Fence,
  scene: { step: string; ordinal: number; index: number },
  error: { code: string; message: string },
): Promise<'recorded' | 'duplicate' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  const existing = await trx.selectFrom('job_steps').select('status').where('job_id', '=', job.id).where('step', '=', scene.step).executeTakeFirst();
  if (existing?.status === 'completed') return 'duplicate';
  const output: FailedSceneOutput = { kind: 'scene', index: scene.index, error: { code: error.code, message: error.message.slice(0, 2000) } };
  if (existing) {
    await trx.updateTable('job_steps').set({ output_json: JSON.stringify(output), created_at: Date.now() }).where('job_id', '=', job.id).where('step', '=', scene.step).execute();
  } else {
    await trx.insertInto('job_steps').values({ job_id: job.id, step: scene.step, ordinal: scene.ordinal, status: 'failed', output_json: JSON.stringify(output), cost_micros: 0, created_at: Date.now() }).execute();
  }
  await appendJobEvent(trx, job, 'scene.failed', { step: scene.step, scene: scene.index, code: output.error.code, message: output.error.message });
  return 'recorded';
}
