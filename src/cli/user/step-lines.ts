import type { Job, JobProgress } from '../../sdk/index.js';
import { fractionEta } from './eta.js';

/** "sampling 5/20", "encoding", "queued #3": what the backend is doing now. */
export function stageText(p: JobProgress): string {
  if (p.step != null && p.steps) return `${p.stage} ${p.step}/${p.steps}`;
  if (p.stage === 'queued' && p.queue_position != null) return `queued #${p.queue_position}`;
  return p.stage;
}

/**
 * For logs (not a terminal): one line when the stage (or a story's scene) changes or the job
 * passes another quarter, `sampling 50% step 10/20 eta 2s`, `scene 2/4 encoding 62% eta 5s`; null
 * otherwise. A handful of lines a picture, however often the server reports. The percentage is
 * the whole job's (a story: across its scenes); the step is within the current scene.
 */
export function plainProgressLines(): (job: Job) => string | null {
  const eta = fractionEta();
  let lastKey = '';
  let lastQuarter = -1;
  return (job) => {
    const p = job.progress;
    if (!p) return null;
    const scene = p.scene != null && job.scenes_total > 1 ? `scene ${p.scene}/${job.scenes_total} ` : '';
    const key = `${scene}${p.stage}`;
    const quarter = Math.floor(p.fraction * 4);
    // A lower quarter is a retried attempt starting over: worth a line too.
    if (key === lastKey && quarter === lastQuarter) return null;
    lastKey = key;
    lastQuarter = quarter;
    const step = p.step != null && p.steps ? ` step ${p.step}/${p.steps}` : '';
    const left = eta(p.fraction);
    return `${scene}${p.stage} ${Math.round(p.fraction * 100)}%${step}${left === '--' ? '' : ` eta ${left}`}`;
  };
}
