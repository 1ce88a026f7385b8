import { useState } from 'preact/hooks';
import { post } from '../api';
import { useLiveJob } from '../use-live-job';
import { when } from '../format';
import { href } from '../router';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { Status } from '../components/Status';
import { Cost } from '../components/Cost';
import { BatchProgress } from '../components/BatchProgress';
import { BatchItemsGrid } from '../components/BatchItemsGrid';
import { TERMINAL, shownStatus, type BatchProgress as Counts } from '../types';

const COUNTS: { key: keyof Counts; label: string }[] = [
  { key: 'items_completed', label: 'Completed' },
  { key: 'items_failed', label: 'Failed' },
  { key: 'items_canceled', label: 'Canceled' },
  { key: 'items_running', label: 'Running' },
  { key: 'items_pending', label: 'Pending' },
  { key: 'items_total', label: 'Total' },
];

function Counts({ batch }: { batch: Counts }) {
  return (
    <section aria-labelledby="counts-h">
      <h2 id="counts-h">Progress</h2>
      <dl class="stats stats-small">
        {COUNTS.map((c) => (
          <div key={c.key}>
            <dt>{c.label}</dt>
            <dd data-testid={`count-${c.key.replace('items_', '')}`}>{batch[c.key]}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

/**
 * One batch (issue 21): its item counts and money kept live (the batch job's event stream, or
 * polling), a cancel, and its items as a grid of pictures and error codes.
 */
export function BatchDetail({ id }: { id: string }) {
  const [generation, setGeneration] = useState(0);
  const { job, error } = useLiveJob(id, generation);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const cancel = async () => {
    setBusy(true);
    setActionError(null);
    try {
      await post(`/v1/batches/${encodeURIComponent(id)}/cancel`);
      setGeneration((g) => g + 1);
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  if (!job) {
    return (
      <>
        <PageTitle>Batch</PageTitle>
        <ErrorBox error={error} />
        {error ? null : <p aria-busy="true">Loading…</p>}
      </>
    );
  }
  const b = job.batch;
  if (!b) {
    return (
      <>
        <PageTitle>Batch</PageTitle>
        <p class="notice">
          This job is not a batch: <a href={href.job(id)}>open its job page</a>.
        </p>
      </>
    );
  }
  const ended = TERMINAL.has(job.status);
  // Any change of counts re-reads the items shown.
  const version = [b.items_completed, b.items_failed, b.items_canceled, b.items_running, job.status].join('/');

  return (
    <>
      <PageTitle>
        Batch of {b.items_total} {b.operation} jobs <code class="id">{job.job_id}</code>
      </PageTitle>
      <p class="job-head" data-testid="batch-head" data-status={shownStatus(job)}>
        <Status status={shownStatus(job)} /> <BatchProgress batch={b} jobId={job.job_id} />
        {job.cancel_requested_at ? <span class="muted"> cancel requested {when(job.cancel_requested_at)}</span> : null}
      </p>
      <dl class="facts">
        <dt>Created</dt>
        <dd>{when(job.created_at)}</dd>
        {job.completed_at ? (
          <>
            <dt>Ended</dt>
            <dd>{when(job.completed_at)}</dd>
          </>
        ) : null}
      </dl>
      <div class="actions">
        {!ended ? (
          <button type="button" class="danger" disabled={busy || !!job.cancel_requested_at} onClick={cancel}>
            Cancel batch
          </button>
        ) : null}
        <a class="button secondary-link" href={href.job(id)}>
          Job details
        </a>
      </div>
      <ErrorBox error={actionError ?? error} />
      {job.error ? (
        <p class="error">
          <code data-testid="job-error-code">{job.error.code}</code>: {job.error.message}
        </p>
      ) : null}
      <Counts batch={b} />
      <Cost job={job} />
      <BatchItemsGrid batchId={id} version={version} />
    </>
  );
}
