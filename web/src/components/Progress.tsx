import type { Job } from '../types';

/**
 * Scene progress of a story (n/N), or the status alone for a single image. The text is the
 * accessible value; the <progress> bar repeats it visually (no inline style: the CSP forbids it).
 */
export function Progress({ job }: { job: Job }) {
  // An image job is one picture: its status says everything, "1/1 scenes" would only confuse.
  if (job.scenes_total <= 0 || (job.operation !== 'story' && job.scenes_total <= 1)) return null;
  const label = `${job.scenes_completed}/${job.scenes_total} scenes`;
  return (
    <span class="progress">
      <progress max={job.scenes_total} value={job.scenes_completed} aria-label={`Scene progress for job ${job.job_id}`}>
        {label}
      </progress>
      <span class="progress-text" data-testid="scene-progress" aria-live="polite">
        {label}
      </span>
    </span>
  );
}
