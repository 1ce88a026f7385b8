import type { JobRow } from '../jobs/row.js';
import type { StoryRequest } from './request.js';
import { storyStep } from './stored.js';
import { storedPlan } from './stored-plan.js';
import { EaselError } from '../errors.js';

export type { FailedSceneOutput } from '../jobs/transitions/record-failed-scene.js';

/**
 * Whether scene `index` of this failed story may be generated again, and at what price: the
 * story's own rules for the scene-retry transition (src/jobs/transitions/retry-scene.ts). Throws
 * the client's error (404 no such scene, 409 completed or portraits unfinished) otherwise.
 */
export function sceneRetryPrice(job: JobRow, index: number, completedSteps: ReadonlySet<string>): number {
  const req = JSON.parse(job.request_json) as StoryRequest;
  if (!Number.isInteger(index) || index < 0 || index >= req.scenes.length) {
    throw new EaselError(404, 'not_found', `Story ${job.id} has no scene ${index} (scenes are numbered 0–${req.scenes.length - 1}).`);
  }
  if (completedSteps.has(storyStep.scene(index).step)) {
    throw new EaselError(409, 'scene_not_retryable', `Scene ${index} of job ${job.id} is already completed.`, { job_id: job.id, scene: index, scene_status: 'completed' });
  }
  const portraitsDone = [...completedSteps].filter((s) => s.startsWith('portrait-')).length;
  const portraitsNeeded = storedPlan(job).slots.filter((s) => !s.clientUrl).length;
  if (portraitsDone < portraitsNeeded) {
    throw new EaselError(409, 'scene_not_retryable', `Story ${job.id} failed before its character portraits were finished; submit it again instead.`, { job_id: job.id, scene: index });
  }
  return req.unit_price_micros;
}
