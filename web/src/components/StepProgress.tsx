import type { Job } from '../types';

/**
 * A running job's live progress (issue 22): the stage, the step (a story: within scene n) and how
 * far the whole job is, as a <progress> bar (0…1) and the same in words. Nothing before the
 * backend reports or after the job ended. The text is not aria-live: it changes up to 4 times a
 * second, which a screen reader would read out without end; the bar carries the value.
 */
export function StepProgress({ job }: { job: Job }) {
  const p = job.status === 'processing' ? job.progress : undefined;
  if (!p) return null;
  const label = [
    p.scene != null ? `scene ${p.scene}` : '',
    p.stage,
    p.step != null && p.steps ? `step ${p.step}/${p.steps}` : '',
    p.stage === 'queued' && p.queue_position != null ? `#${p.queue_position} in the backend's queue` : '',
    `${Math.round(p.fraction * 100)}%`,
  ]
    .filter(Boolean)
    .join(' · ');
  return (
    <span class="progress">
      <progress max={1} value={p.fraction} aria-label={`Progress of job ${job.job_id}`} data-testid="step-progress-bar">
        {label}
      </progress>
      <span class="progress-text" data-testid="step-progress">
        {label}
      </span>
    </span>
  );
}
