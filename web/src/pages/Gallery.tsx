import { get } from '../api';
import { useAsync } from '../use-async';
import { href } from '../router';
import { shortId, when } from '../format';
import { ErrorBox } from '../components/ErrorBox';
import { PageTitle } from '../components/PageTitle';
import type { Job, JobList, StoryResult } from '../types';

/** Completed stories to pick from. */
function StoryIndex() {
  const list = useAsync((signal) => get<JobList>('/v1/jobs?operation=story&status=completed&limit=50', { signal }), []);
  return (
    <>
      <PageTitle>Story gallery</PageTitle>
      <ErrorBox error={list.error} />
      {list.data && list.data.generations.length === 0 ? <p class="muted">No completed story yet. Submit one from the playground.</p> : null}
      <ul class="cards">
        {(list.data?.generations ?? []).map((j) => {
          const r = j.result as StoryResult | undefined;
          const first = r?.scenes[0];
          return (
            <li key={j.job_id} class="card story-card">
              <a href={href.gallery(j.job_id)}>
                {first ? <img class="thumb" src={first.images.webp} alt="" loading="lazy" /> : null}
                <span>
                  {r?.scenes.length ?? 0} scenes · {when(j.created_at)}
                </span>
              </a>
            </li>
          );
        })}
      </ul>
    </>
  );
}

/** One story as a storyboard strip (scenes in order), its character portraits beside. */
function Storyboard({ id }: { id: string }) {
  const job = useAsync((signal) => get<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { signal }), [id]);
  const r = job.data?.status === 'completed' ? (job.data.result as StoryResult | undefined) : undefined;
  return (
    <>
      <PageTitle>Story {shortId(id)}</PageTitle>
      <ErrorBox error={job.error} />
      <p>
        <a href={href.job(id)}>Job details</a> · <a href={href.gallery()}>All stories</a>
      </p>
      {job.data && !r ? (
        <p class="notice">
          This story is {job.data.status}
          {job.data.result_expired ? ' and its files have expired' : ''}; the storyboard shows completed stories.
        </p>
      ) : null}
      {r ? (
        <div class="storyboard">
          <section aria-labelledby="strip-h" class="strip-wrap">
            <h2 id="strip-h">Scenes</h2>
            <ol class="strip" data-testid="storyboard">
              {r.scenes.map((s, i) => (
                <li key={i}>
                  <figure>
                    <a href={s.images.png} target="_blank" rel="noopener noreferrer">
                      <img src={s.images.webp} alt={`Scene ${i + 1}: ${s.prompt}`} />
                    </a>
                    <figcaption>
                      <span class="scene-no">{i + 1}</span> <span class="prompt">{s.prompt}</span>
                    </figcaption>
                  </figure>
                </li>
              ))}
            </ol>
          </section>
          <aside aria-labelledby="cast-h" class="cast">
            <h2 id="cast-h">Characters</h2>
            <ul>
              {r.character_refs.map((c) => (
                <li key={c.name}>
                  <figure>
                    <img src={c.url} alt={`Portrait of ${c.name}`} />
                    <figcaption>{c.name}</figcaption>
                  </figure>
                </li>
              ))}
            </ul>
          </aside>
        </div>
      ) : null}
    </>
  );
}

export function Gallery({ id }: { id?: string }) {
  return id ? <Storyboard id={id} /> : <StoryIndex />;
}
