import { useState } from 'preact/hooks';
import { get } from '../api';
import { href } from '../router';
import { useAsync } from '../use-async';
import { useRefreshWhileRunning } from '../use-live-job';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { JobCard } from '../components/JobCard';
import type { JobList } from '../types';

const STATUSES = ['pending', 'processing', 'completed', 'failed', 'canceled'];
const PAGE = 20;

/** The account's batches (GET /v1/jobs?operation=batch), newest first, each with its item progress; unfinished ones live. */
export function Batches() {
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useAsync(
    (signal) => {
      const q = new URLSearchParams({ operation: 'batch', limit: String(PAGE), offset: String(offset) });
      if (status) q.set('status', status);
      return get<JobList>(`/v1/jobs?${q}`, { signal });
    },
    [status, offset],
  );
  useRefreshWhileRunning(list.data?.generations, list.reload);
  const batches = list.data?.generations ?? [];
  const total = list.data?.total ?? 0;

  return (
    <>
      <PageTitle>Batches</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter batches">
        <div class="field">
          <label for="b-status">Status</label>
          <select id="b-status" value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setOffset(0))}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <button type="button" class="secondary" onClick={list.reload}>
          Refresh
        </button>
        <a class="button" href={href.playground}>
          Start a batch
        </a>
      </form>
      <ErrorBox error={list.error} />
      <p class="muted" aria-live="polite">
        {list.loading && !list.data ? 'Loading…' : `${total} batch${total === 1 ? '' : 'es'}`}
      </p>
      <ul class="cards" aria-label="Batches">
        {batches.map((j) => (
          <JobCard key={j.job_id} job={j} />
        ))}
      </ul>
      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          Newer
        </button>
        <span class="muted">{total ? `${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}` : ''}</span>
        <button type="button" class="secondary" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          Older
        </button>
      </nav>
    </>
  );
}
