import { shownStatus, type Job } from '../types';
import { href } from '../router';
import { shortId, when } from '../format';
import { Status } from './Status';
import { Progress } from './Progress';

/** The picture a finished job made, for the list: an image's PNG, a story's first scene. */
export function thumbnailUrl(job: Job): string | null {
  const r = job.result as { formats?: { png?: { url?: string } }; scenes?: { images?: { png?: string } }[] } | undefined;
  return r?.formats?.png?.url ?? r?.scenes?.[0]?.images?.png ?? null;
}

/**
 * One job in a list: what it is (operation, prompt, thumbnail), status, live progress, link to its
 * detail. A batch has no prompt of its own: its card names the items' operation and links to the batch page.
 */
export function JobCard({ job }: { job: Job }) {
  const thumb = thumbnailUrl(job);
  return (
    <li class="card job-card" data-job-id={job.job_id} data-status={shownStatus(job)}>
      <div class="job-card-head">
        <a href={job.batch ? href.batch(job.job_id) : href.job(job.job_id)}>
          <span class="op">{job.operation}</span> <code class="id">{shortId(job.job_id)}</code>
          {job.batch ? <span class="muted"> of {job.batch.items_total} {job.batch.operation}</span> : null}
        </a>
        <Status status={shownStatus(job)} />
      </div>
      <div class="job-card-main">
        {thumb ? <img class="thumb" src={thumb} alt="" loading="lazy" data-testid="job-thumb" /> : null}
        <div>
          {job.prompt && !job.batch ? (
            <p class="prompt" data-testid="job-prompt">
              {job.prompt}
            </p>
          ) : null}
          <div class="job-card-body">
            <span class="muted">{when(job.created_at)}</span>
            <Progress job={job} />
            {job.queue_position != null ? <span class="muted">queue position {job.queue_position}</span> : null}
            {job.error ? <span class="error-inline">{job.error.code}</span> : null}
          </div>
        </div>
      </div>
    </li>
  );
}
