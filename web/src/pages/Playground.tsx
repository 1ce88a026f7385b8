import { useEffect, useState } from 'preact/hooks';
import { ApiError, call, post } from '../api';
import { href } from '../router';
import { eur, shortId } from '../format';
import { useLiveJob } from '../use-live-job';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { Status } from '../components/Status';
import { Progress } from '../components/Progress';
import { StepProgress } from '../components/StepProgress';
import { LivePreview } from '../components/LivePreview';
import { Downloads } from '../components/Downloads';
import { BatchForm } from '../components/BatchForm';
import { shownStatus, type ImageResult, type Job } from '../types';

const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'];

export const SAMPLE_STORY = JSON.stringify(
  {
    style: 'soft watercolour, warm light',
    characters: [{ name: 'Mira', appearance: 'a young sailor with a red scarf and a brass telescope' }],
    scenes: [
      { prompt: 'Mira finds an old map in the attic', characters: ['Mira'] },
      { prompt: 'Mira rows across a misty bay at dawn', characters: ['Mira'] },
      { prompt: 'Mira climbs the lighthouse stairs', characters: ['Mira'] },
    ],
  },
  null,
  2,
);

/**
 * The image being drawn: its job followed live (progress bar, preview frame) until it ends; then
 * `onEnd` with the finished job.
 */
function ImageJob({ id, onEnd }: { id: string; onEnd: (job: Job) => void }) {
  const { job, error } = useLiveJob(id);
  const ended = job?.status === 'completed' || job?.status === 'failed';
  useEffect(() => {
    if (job && ended) onEnd(job);
  }, [ended]);
  return (
    <div class="image-progress" data-testid="image-progress" data-status={job?.status ?? 'pending'}>
      <ErrorBox error={error} />
      <p>
        Job <a href={href.job(id)}>{shortId(id)}</a> {job ? <Status status={shownStatus(job)} /> : null} {job ? <StepProgress job={job} /> : null}
      </p>
      {job && !ended ? <LivePreview job={job} /> : null}
    </div>
  );
}

/**
 * Image form. POST /v1/generate/image is synchronous; with `Prefer: wait=0` it answers 202 with
 * the job at once, so the picture's progress and preview can be shown while it is drawn. A server
 * that answers 200 anyway (it finished first) gives the image directly.
 */
function ImageForm() {
  const [prompt, setPrompt] = useState('');
  const [aspect, setAspect] = useState('1:1');
  const [result, setResult] = useState<{ image: ImageResult; jobId: string | null; prompt: string } | null>(null);
  const [running, setRunning] = useState<{ jobId: string; prompt: string } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    setRunning(null);
    let following = false;
    try {
      const r = await call<ImageResult | { job_id: string }>('POST', '/v1/generate/image', { body: { prompt, aspect_ratio: aspect }, headers: { prefer: 'wait=0' } });
      if (r.status === 202 && 'job_id' in r.body) {
        setRunning({ jobId: r.body.job_id, prompt });
        following = true;
      } else setResult({ image: r.body as ImageResult, jobId: r.headers.get('x-easel-job-id'), prompt });
    } catch (err) {
      setError(err as Error);
    } finally {
      if (!following) setBusy(false);
    }
  };

  const ended = (job: Job) => {
    setBusy(false);
    setRunning(null);
    if (job.status === 'completed' && job.result) setResult({ image: job.result as unknown as ImageResult, jobId: job.job_id, prompt: running?.prompt ?? prompt });
    // Shown like the error a synchronous create would have answered: its code and message.
    else setError(job.error ? new ApiError(0, job.error.code, job.error.message, undefined, { job_id: job.job_id }) : new Error('The image could not be made.'));
  };

  return (
    <section aria-labelledby="img-form-h" class="card">
      <h2 id="img-form-h">Generate an image</h2>
      <form onSubmit={submit} class="stack">
        <label for="img-prompt">Prompt</label>
        <textarea id="img-prompt" rows={3} required maxLength={4000} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} />
        <label for="img-aspect">Aspect ratio</label>
        <select id="img-aspect" value={aspect} onChange={(e) => setAspect((e.target as HTMLSelectElement).value)}>
          {ASPECT_RATIOS.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <button type="submit" disabled={busy}>
          {busy ? 'Generating…' : 'Generate'}
        </button>
      </form>
      <ErrorBox error={error} />
      {running ? <ImageJob key={running.jobId} id={running.jobId} onEnd={ended} /> : null}
      {result ? (
        <figure class="result" data-testid="image-result">
          <img src={result.image.formats.webp.url} alt={`Generated: ${result.prompt}`} />
          <figcaption>
            <span class="prompt" data-testid="image-prompt">
              {result.prompt}
            </span>{' '}
            <span class="muted">
              {eur(result.image.cost_eur)} · balance {eur(result.image.balance_eur)}
            </span>
            {result.jobId ? (
              <>
                {' '}
                · <a href={href.job(result.jobId)}>job details</a>
              </>
            ) : null}
          </figcaption>
          <Downloads formats={result.image.formats} label="the image" />
        </figure>
      ) : null}
    </section>
  );
}

/** Live progress of the story just submitted, without leaving the page. */
function StoryProgress({ id }: { id: string }) {
  const { job, error } = useLiveJob(id);
  return (
    <div class="story-progress" data-testid="story-progress" data-status={job?.status ?? 'pending'}>
      <ErrorBox error={error} />
      {job ? (
        <p>
          Job <a href={href.job(id)}>{shortId(id)}</a> <Status status={shownStatus(job)} /> <Progress job={job} />
        </p>
      ) : (
        <p aria-busy="true">Submitted…</p>
      )}
      {job?.error ? (
        <p class="error-inline">
          <code>{job.error.code}</code>: {job.error.message}
        </p>
      ) : null}
      {job?.status === 'completed' ? (
        <p>
          <a class="button" href={href.gallery(id)}>
            Open in gallery
          </a>
        </p>
      ) : null}
    </div>
  );
}

/** Storyboard form: the JSON body of POST /v1/generate/story, as written by the user. */
function StoryForm() {
  const [text, setText] = useState(SAMPLE_STORY);
  const [jobId, setJobId] = useState<string | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      setError(new Error(`The storyboard is not valid JSON: ${(err as Error).message}`));
      return;
    }
    setBusy(true);
    try {
      const r = await post<{ job_id: string }>('/v1/generate/story', body);
      setJobId(r.job_id);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="story-form-h" class="card">
      <h2 id="story-form-h">Submit a storyboard</h2>
      <form onSubmit={submit} class="stack">
        <label for="story-json">Storyboard JSON</label>
        <textarea id="story-json" class="code" rows={14} spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} aria-describedby="story-help" />
        <p id="story-help" class="muted">
          The body of <code>POST /v1/generate/story</code>: characters, optional locations, and scenes.
        </p>
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit story'}
        </button>
      </form>
      <ErrorBox error={error} />
      {jobId ? <StoryProgress key={jobId} id={jobId} /> : null}
    </section>
  );
}

export function Playground() {
  return (
    <>
      <PageTitle>Playground</PageTitle>
      <div class="two-col">
        <ImageForm />
        <StoryForm />
        <BatchForm aspectRatios={ASPECT_RATIOS} />
      </div>
    </>
  );
}
