import type { Job } from '../types';
import { BatchProgress } from './BatchProgress';

/**
 * Item progress of a batch, scene progress of a story (n/N), or the status alone for a single image. The text is the
 * accessible value; the <progress> bar repeats it visually (no inline style: the CSP forbids it).
 */
export function Progress({ job }: { job: Job }) {
  if (job.batch) return <BatchProgress batch={job.batch} jobId={job.job_id} />;
  // An image job is one picture: its status says everything, "1/1 scenes" would only confuse.
  if (job.scenes_total <= 0 || (job.operation !== 'story' && job.scenes_total <= 1)) return null;
  // A story that has not started says so by its status alone: a "0/N scenes" counter would flip to
  // "drawing character portraits" once it starts, as if it went back.
  if (job.status === 'pending' && !job.scenes_completed) return null;
  // Portraits come before scene 1 and move no scene counter: say what is being drawn.
  if (job.phase === 'portraits') {
    const p = `drawing character portraits ${job.portraits_completed ?? 0}/${job.portraits_total ?? 0}`;
    return (
      <span class="progress">
        <progress max={Math.max(1, job.portraits_total ?? 1)} value={job.portraits_completed ?? 0} aria-label={`Portrait progress for job ${job.job_id}`}>
          {p}
        </progress>
        <span class="progress-text" data-testid="scene-progress" aria-live="polite">
          {p}
        </span>
      </span>
    );
  }
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
