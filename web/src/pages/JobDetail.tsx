import { Fragment } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { post } from '../api';
import { hasRoute, ROUTES } from '../capabilities';
import { useLiveJob } from '../use-live-job';
import { eur, shortId, when } from '../format';
import { href } from '../router';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { Status } from '../components/Status';
import { Progress } from '../components/Progress';
import { StepProgress } from '../components/StepProgress';
import { LivePreview } from '../components/LivePreview';
import { Downloads } from '../components/Downloads';
import { Cost } from '../components/Cost';
import { TERMINAL, shownStatus, type Formats, type ImageResult, type Job, type JobEvent, type SceneProgress, type StoryResult } from '../types';

function useCapability(route: string): boolean {
  const [ok, setOk] = useState(false);
  useEffect(() => {
    void hasRoute(route).then(setOk);
  }, [route]);
  return ok;
}

/** A story's scenes: the live `scenes` array while it runs, the result's scenes once it completed. */
export function scenesOf(job: Job): SceneProgress[] {
  if (job.scenes?.length) return job.scenes;
  const r = job.result as StoryResult | undefined;
  return (r?.scenes ?? []).map((s, index) => ({ index, status: 'completed', prompt: s.prompt, images: s.images, formats: s.formats }));
}

function Timeline({ job, events }: { job: Job; events: JobEvent[] }) {
  const rows: { key: string; what: string; at: string | undefined }[] = events.length
    ? events.map((e) => ({ key: e.id || `${e.type}-${e.occurredAt}`, what: e.type, at: e.occurredAt }))
    : [
        { key: 'c', what: 'created', at: job.created_at },
        ...(job.started_at ? [{ key: 's', what: 'started', at: job.started_at }] : []),
        ...(job.completed_at ? [{ key: 'e', what: shownStatus(job), at: job.completed_at }] : []),
      ];
  return (
    <section aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      <ol class="timeline" data-testid="timeline">
        {rows.map((r) => (
          <li key={r.key}>
            <span class="event">{r.what}</span> <time dateTime={r.at}>{when(r.at)}</time>
          </li>
        ))}
      </ol>
    </section>
  );
}

function Thumb({ formats, alt }: { formats: Formats; alt: string }) {
  return (
    <a href={formats.png.url} target="_blank" rel="noopener noreferrer">
      <img class="thumb" src={formats.webp.url} alt={alt} loading="lazy" />
    </a>
  );
}

export function JobDetail({ id }: { id: string }) {
  const [generation, setGeneration] = useState(0);
  const { job, events, error } = useLiveJob(id, generation);
  const canCancel = useCapability(ROUTES.cancel);
  const canRetry = useCapability(ROUTES.sceneRetry);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const act = async (path: string) => {
    setBusy(true);
    setActionError(null);
    try {
      await post<Job>(path);
      setGeneration((g) => g + 1); // follow the job again: a retried story runs anew
    } catch (e) {
      setActionError(e as Error);
    } finally {
      setBusy(false);
    }
  };

  if (!job) {
    return (
      <>
        <PageTitle>Job</PageTitle>
        <ErrorBox error={error} />
        {error ? null : <p aria-busy="true">Loading…</p>}
      </>
    );
  }
  const scenes = job.operation === 'story' ? scenesOf(job) : [];
  const image = job.operation !== 'story' ? (job.result as ImageResult | undefined) : undefined;
  const ended = TERMINAL.has(job.status);

  return (
    <>
      <PageTitle>
        {job.operation} job <code class="id">{job.job_id}</code>
      </PageTitle>
      <p class="job-head">
        <Status status={shownStatus(job)} /> <Progress job={job} /> <StepProgress job={job} />
        {job.cancel_requested_at ? <span class="muted"> cancel requested {when(job.cancel_requested_at)}</span> : null}
      </p>
      <dl class="facts">
        {job.batch_id ? (
          <>
            <dt>Batch</dt>
            <dd>
              <a href={href.batch(job.batch_id)} data-testid="item-batch-link">
                item {(job.batch_index ?? 0) + 1} of batch {shortId(job.batch_id)}
              </a>
            </dd>
          </>
        ) : null}
        <dt>Created</dt>
        <dd>{when(job.created_at)}</dd>
        {job.model ? (
          <>
            <dt>Model</dt>
            <dd>{job.model}</dd>
          </>
        ) : null}
        {job.queue_position != null ? (
          <>
            <dt>Queue position</dt>
            <dd>{job.queue_position}</dd>
          </>
        ) : null}
        {job.estimated_completed_at ? (
          <>
            <dt>Estimated completion</dt>
            <dd>{when(job.estimated_completed_at)}</dd>
          </>
        ) : null}
        {job.result_expires_at ? (
          <>
            <dt>Files kept until</dt>
            <dd>{when(job.result_expires_at)}</dd>
          </>
        ) : null}
        {Object.entries(job.metadata ?? {}).map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      <div class="actions">
        {canCancel && !ended ? (
          <button type="button" class="danger" disabled={busy || !!job.cancel_requested_at} onClick={() => act(`/v1/jobs/${encodeURIComponent(job.job_id)}/cancel`)}>
            Cancel job
          </button>
        ) : null}
        {job.batch ? (
          <a class="button" href={href.batch(job.job_id)}>
            Open batch
          </a>
        ) : null}
        {job.operation === 'story' && job.status === 'completed' ? (
          <a class="button" href={href.gallery(job.job_id)}>
            Open in gallery
          </a>
        ) : null}
      </div>
      <ErrorBox error={actionError ?? error} />
      {job.error ? (
        <section aria-labelledby="err-h" class="error">
          <h2 id="err-h">Error</h2>
          <p>
            <code data-testid="job-error-code">{job.error.code}</code>: {job.error.message}
          </p>
        </section>
      ) : null}
      {job.result_expired ? <p class="notice">The retention period has passed: this job's files were deleted.</p> : null}
      <Cost job={job} />
      {/* Until the job ends; then the result (or the error) takes its place. */}
      {!ended ? <LivePreview job={job} /> : null}
      {image?.formats ? (
        <section aria-labelledby="img-h">
          <h2 id="img-h">Image</h2>
          <Thumb formats={image.formats} alt={`Result of job ${job.job_id}`} />
          <Downloads formats={image.formats} label="the image" />
        </section>
      ) : null}
      {scenes.length ? (
        <section aria-labelledby="scenes-h">
          <h2 id="scenes-h">Scenes</h2>
          <ol class="scenes">
            {scenes.map((s) => (
              <li key={s.index} class="card scene" data-scene={s.index} data-status={s.status}>
                <div class="scene-head">
                  <span>Scene {s.index + 1}</span> <span class={`status status-${s.status}`}>{s.status}</span>
                  {s.cost_eur ? <span class="muted"> {eur(s.cost_eur)}</span> : null}
                </div>
                <p class="prompt">{s.prompt}</p>
                {s.formats ? (
                  <>
                    <Thumb formats={s.formats} alt={`Scene ${s.index + 1}`} />
                    <Downloads formats={s.formats} label={`scene ${s.index + 1}`} />
                  </>
                ) : null}
                {s.error ? (
                  <p class="error-inline">
                    <code>{s.error.code}</code>: {s.error.message}
                  </p>
                ) : null}
                {canRetry && job.status === 'failed' && (s.status === 'failed' || s.status === 'skipped') ? (
                  <button type="button" disabled={busy} onClick={() => act(`/v1/jobs/${encodeURIComponent(job.job_id)}/scenes/${s.index}/retry`)}>
                    Retry scene {s.index + 1}
                  </button>
                ) : null}
              </li>
            ))}
          </ol>
        </section>
      ) : null}
      <Timeline job={job} events={events} />
    </>
  );
}
