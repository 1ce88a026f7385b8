import type { AspectRatio } from '../contract/dimensions.js';
import type { JobRow } from '../jobs/row.js';
import type { StoryRequest } from './request.js';
import { planStory, type StoryPlan } from './plan.js';

/**
 * A story job's plan: computed once by the create route and stored with the job (`plan_json`),
 * then read — by the pipeline, the per-scene view on every poll, and a scene retry. Jobs created
 * before the plan was stored (migration 0009) plan again, as they always did.
 */
export function storedPlan(job: Pick<JobRow, 'plan_json' | 'request_json'>, portraitRatio?: AspectRatio): StoryPlan {
  if (job.plan_json) return JSON.parse(job.plan_json) as StoryPlan;
  const req = JSON.parse(job.request_json) as StoryRequest;
  return planStory(req, portraitRatio ?? req.aspect_ratio);
}
