import { useEffect, useState } from 'preact/hooks';
import { watchJob } from './live';
import { TERMINAL, type Job, type JobEvent } from './types';

/** One job, kept current live; `events` is its timeline (from the event stream when there is one). */
export function useLiveJob(id: string, generation = 0): { job: Job | null; events: JobEvent[]; error: Error | null } {
  const [job, setJob] = useState<Job | null>(null);
  const [events, setEvents] = useState<JobEvent[]>([]);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    setEvents([]);
    setError(null);
    const seen = new Set<string>();
    return watchJob(id, {
      onJob: (j) => (setJob(j), setError(null)),
      onEvent: (ev) => {
        if (ev.id && seen.has(ev.id)) return;
        if (ev.id) seen.add(ev.id);
        setEvents((list) => [...list, ev]);
      },
      onError: setError,
    });
  }, [id, generation]);
  return { job, events, error };
}

/**
 * Keeps a job list current: re-reads it (one request every `everyMs`) while any job in it is
 * unfinished. Lists do not open one event stream per job: a browser keeps about six connections
 * per host, and a page of running jobs would take them all.
 */
export function useRefreshWhileRunning(jobs: Job[] | null | undefined, reload: () => void, everyMs = 1500): void {
  useEffect(() => {
    if (!jobs?.some((j) => !TERMINAL.has(j.status))) return;
    const t = setTimeout(reload, everyMs);
    return () => clearTimeout(t);
  }, [jobs, reload, everyMs]);
}
