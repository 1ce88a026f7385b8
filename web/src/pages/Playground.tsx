import { useState } from 'preact/hooks';
import { call, post } from '../api';
import { href } from '../router';
import { eur, shortId } from '../format';
import { useLiveJob } from '../use-live-job';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import { Status } from '../components/Status';
import { Progress } from '../components/Progress';
import { Downloads } from '../components/Downloads';
import { BatchForm } from '../components/BatchForm';
import { shownStatus, type ImageResult } from '../types';

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

/** Image form: POST /v1/generate/image is synchronous, so the answer is the image. */
function ImageForm() {
  const [prompt, setPrompt] = useState('');
  const [aspect, setAspect] = useState('1:1');
  const [result, setResult] = useState<{ image: ImageResult; jobId: string | null; prompt: string } | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const r = await call<ImageResult>('POST', '/v1/generate/image', { body: { prompt, aspect_ratio: aspect } });
      setResult({ image: r.body, jobId: r.headers.get('x-easel-job-id'), prompt });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
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
