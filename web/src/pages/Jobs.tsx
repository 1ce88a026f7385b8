import { useState } from 'preact/hooks';
import { get } from '../api';
import { useAsync } from '../use-async';
import { useRefreshWhileRunning } from '../use-live-job';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { JobCard } from '../components/JobCard';
import type { JobList } from '../types';

const STATUSES = ['pending', 'processing', 'completed', 'failed', 'canceled'];
const OPERATIONS = ['story', 'image', 'graphic', 'diagram', 'edit_image', 'edit_graphic', 'edit_diagram', 'combine_image', 'combine_graphic', 'combine_diagram', 'batch'];
const PAGE = 20;

/** Every job, newest first, filtered by status and operation (GET /v1/jobs filters), unfinished ones live. */
export function Jobs() {
  const [status, setStatus] = useState('');
  const [operation, setOperation] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useAsync(
    (signal) => {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (status) q.set('status', status);
      if (operation) q.set('operation', operation);
      return get<JobList>(`/v1/jobs?${q}`, { signal });
    },
    [status, operation, offset],
  );
  useRefreshWhileRunning(list.data?.generations, list.reload);
  const jobs = list.data?.generations ?? [];
  const total = list.data?.total ?? 0;

  return (
    <>
      <PageTitle>Jobs</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter jobs">
        <div class="field">
          <label for="f-status">Status</label>
          <select id="f-status" value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setOffset(0))}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-op">Operation</label>
          <select id="f-op" value={operation} onChange={(e) => (setOperation((e.target as HTMLSelectElement).value), setOffset(0))}>
            <option value="">any</option>
            {OPERATIONS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="secondary" onClick={list.reload}>
          Refresh
        </button>
      </form>
      <ErrorBox error={list.error} />
      <p class="muted" aria-live="polite">
        {list.loading && !list.data ? 'Loading…' : `${total} job${total === 1 ? '' : 's'}`}
      </p>
      <ul class="cards" aria-label="Jobs">
        {jobs.map((j) => (
          <JobCard key={j.job_id} job={j} />
        ))}
      </ul>
      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Newer
        </button>
        <span class="muted">
          {total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : ''}
        </span>
        <button type="button" class="secondary" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Older
        </button>
      </nav>
    </>
  );
}
