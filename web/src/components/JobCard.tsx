import { shownStatus, type Job } from '../types';
import { href } from '../router';
import { shortId, when } from '../format';
import { Status } from './Status';
import { Progress } from './Progress';

/** One job in a list: operation, status, live progress, link to its detail. */
export function JobCard({ job }: { job: Job }) {
  return (
    <li class="card job-card" data-job-id={job.job_id} data-status={shownStatus(job)}>
      <div class="job-card-head">
        <a href={href.job(job.job_id)}>
          <span class="op">{job.operation}</span> <code class="id">{shortId(job.job_id)}</code>
        </a>
        <Status status={shownStatus(job)} />
      </div>
      <div class="job-card-body">
        <span class="muted">{when(job.created_at)}</span>
        <Progress job={job} />
        {job.queue_position != null ? <span class="muted">queue position {job.queue_position}</span> : null}
        {job.error ? <span class="error-inline">{job.error.code}</span> : null}
      </div>
    </li>
  );
}
