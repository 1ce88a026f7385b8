import { get } from './api';
import { getKey } from './session';
import { readSse } from './sse';
import { hasRoute, ROUTES } from './capabilities';
import { TERMINAL, type Job, type JobEvent, type JobProgress } from './types';

/**
 * Live job updates. `watchJob` is the one place that picks the transport: Server-Sent Events
 * (GET /v1/jobs/{id}/events) when the server lists that route, else polling GET /v1/jobs/{id}.
 * Either way the caller gets every new job snapshot, and, with SSE, each event for a timeline.
 */
export interface JobWatch {
  onJob: (job: Job) => void;
  onEvent?: (ev: JobEvent) => void;
  onError?: (e: Error) => void;
}

export function watchJob(id: string, w: JobWatch): () => void {
  const ctl = new AbortController();
  void hasRoute(ROUTES.events).then((sse) => {
    if (ctl.signal.aborted) return;
    return (sse ? followEvents : pollJob)(id, w, ctl.signal);
  });
  return () => ctl.abort();
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** Polling fallback: every 750 ms until the job ends. */
async function pollJob(id: string, w: JobWatch, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const job = await get<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
      if (signal.aborted) return;
      w.onJob(job);
      if (TERMINAL.has(job.status)) return;
    } catch (e) {
      if (signal.aborted) return;
      w.onError?.(e as Error);
    }
    await sleep(750, signal);
  }
}

/**
 * SSE: the stream replays the job's past events, follows new ones and ends after the terminal
 * one. A dropped connection resumes with Last-Event-ID, so no event is missed or shown twice.
 */
async function followEvents(id: string, w: JobWatch, signal: AbortSignal): Promise<void> {
  let lastId: string | null = null;
  let ended = false;
  // The latest snapshot: a job.progress event carries the progress alone, merged into it.
  let current: Job | null = null;
  const onJob = (job: Job) => {
    current = job;
    w.onJob(job);
  };
  // A first snapshot at once: the stream's first event may be a while away for a queued job.
  try {
    const job = await get<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
    onJob(job);
  } catch (e) {
    if (signal.aborted) return;
    w.onError?.(e as Error);
    return;
  }
  let failures = 0;
  while (!signal.aborted && !ended) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${getKey() ?? ''}` };
      if (lastId) headers['last-event-id'] = lastId;
      const res = await fetch(`/v1/jobs/${encodeURIComponent(id)}/events`, { headers, signal, cache: 'no-store' });
      if (!res.ok || !res.body) throw new Error(`event stream answered HTTP ${res.status}`);
      failures = 0;
      await readSse(res.body, (m) => {
        if (m.id) lastId = m.id;
        let envelope: { type?: string; timestamp?: string; data?: { job?: Job; occurred_at?: string; progress?: JobProgress } };
        try {
          envelope = JSON.parse(m.data);
        } catch {
          return;
        }
        // Progress (up to 4 a second) is not a timeline event: it only updates the job shown. It may
        // come before the job.started event; until that event's snapshot (phase, scene counts) says
        // the job runs, a merge would show a running job with a pending job's fields, so wait for it.
        if (m.event === 'job.progress') {
          const progress = envelope.data?.progress;
          if (progress && current?.status === 'processing') onJob({ ...current, progress });
          return;
        }
        const job = envelope.data?.job;
        w.onEvent?.({ id: m.id ?? '', type: m.event, occurredAt: envelope.data?.occurred_at ?? envelope.timestamp ?? '', job });
        if (job) {
          onJob(job);
          if (TERMINAL.has(job.status) && /^job\.(completed|failed|canceled)$/.test(m.event)) ended = true;
        }
      });
      // The server ends the stream after the terminal event; if it ended for another reason, check and resume.
      if (!ended) {
        const job = await get<Job>(`/v1/jobs/${encodeURIComponent(id)}`, { signal });
        onJob(job);
        if (TERMINAL.has(job.status)) ended = true;
      }
    } catch (e) {
      if (signal.aborted) return;
      if (++failures >= 3) {
        // The stream keeps failing (a proxy that buffers, say): fall back to polling.
        w.onError?.(e as Error);
        return pollJob(id, w, signal);
      }
    }
    if (!ended) await sleep(1000, signal);
  }
}
