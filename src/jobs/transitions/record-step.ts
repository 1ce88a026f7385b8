import { sql } from 'kysely';
import type { Db } from '../../store/db.js';
import { capture } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { appendJobEvent } from '../event-log.js';
import { ownedJob, STALE, updateOwned, type Fence, type Stale } from './context.js';
import { remainingHold } from '../remaining-hold.js';

export interface StepRecord {
  step: string;
  ordinal: number;
  output: unknown;
  costMicros: number;
  countsAsScene: boolean;
}

/**
 * Records one finished unit of work (a portrait, a scene) and captures its price in the same
 * transaction, so a stored step is charged exactly once: `duplicate` when the step was already
 * recorded (an earlier run of the job got there first), `stale` when the writer lost the job.
 */
export async function recordStep(trx: Db, fence: Fence, step: StepRecord): Promise<'recorded' | 'duplicate' | Stale> {
  const job = await ownedJob(trx, fence);
  if (!job) return STALE;
  const existing = await trx.selectFrom('job_steps').select('status').where('job_id', '=', job.id).where('step', '=', step.step).executeTakeFirst();
  if (existing?.status === 'completed') return 'duplicate';
  // A failed attempt of this scene (recorded for the client) gives way to its success.
  if (existing) await trx.deleteFrom('job_steps').where('job_id', '=', job.id).where('step', '=', step.step).execute();
  const take = Math.min(step.costMicros, remainingHold(job));
  await trx
    .insertInto('job_steps')
    .values({ job_id: job.id, step: step.step, ordinal: step.ordinal, status: 'completed', output_json: JSON.stringify(step.output), cost_micros: take, created_at: Date.now() })
    .execute();
  await capture(trx, job.account_id, job.id, take, `step ${step.step}`);
  await updateOwned(trx, fence)
    .set({
      charged_micros: Number(job.charged_micros) + take,
      scenes_completed: step.countsAsScene ? sql`scenes_completed + 1` : sql`scenes_completed`,
      updated_at: Date.now(),
    })
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
  return 'recorded';
}
