import { useEffect, useRef, useState } from 'preact/hooks';
import type { Job } from '../types';

/** A signed URL without its signature: the server re-signs the same frame on every read. */
const frameOf = (url: string) => url.split('?')[0]!;

/**
 * The latest preview frame that arrived whole, as an object URL. A frame's URL works only while
 * that frame is current (404 once a newer one replaced it, or the job ended), so each new frame is
 * fetched at once and shown only once it has loaded: a 404 keeps the last good frame on screen.
 * (An <img> pointed at the signed URL would refetch it on a re-render, and find it gone.)
 */
export function useLatestFrame(url: string | undefined): string | null {
  const [shown, setShown] = useState<string | null>(null);
  const st = useRef({ frame: '', asked: 0, showing: 0, objectUrl: '', gone: false });
  useEffect(() => {
    if (!url) return;
    const s = st.current;
    const frame = frameOf(url);
    if (frame === s.frame) return;
    s.frame = frame;
    const n = ++s.asked;
    fetch(url, { cache: 'no-store' })
      .then((r) => (r.ok ? r.blob() : null))
      .catch(() => null)
      .then(async (blob) => {
        if (!blob) {
          // Gone already (replaced, or the job ended): keep what is shown. Let a re-signed URL of the same frame try again.
          if (n === s.asked) s.frame = '';
          return;
        }
        // Decoded before it is swapped in: the <img> then shows it at once, never a blank moment between frames.
        const next = URL.createObjectURL(blob);
        const probe = new Image();
        probe.src = next;
        await probe.decode().catch(() => undefined);
        if (s.gone || n < s.showing) {
          URL.revokeObjectURL(next); // unmounted, or a newer frame is on screen already
          return;
        }
        s.showing = n;
        const before = s.objectUrl;
        s.objectUrl = next;
        setShown(next);
        // The old frame is released once the new one is on screen.
        if (before) setTimeout(() => URL.revokeObjectURL(before), 1000);
      });
  }, [url]);
  useEffect(
    () => () => {
      st.current.gone = true;
      if (st.current.objectUrl) URL.revokeObjectURL(st.current.objectUrl);
    },
    [],
  );
  return shown;
}

/** While a job runs: its latest preview frame (small, low detail), once the backend has sent one. */
export function LivePreview({ job }: { job: Job }) {
  const src = useLatestFrame(job.progress?.preview_url);
  if (!src) return null;
  return (
    <figure class="live-preview" data-testid="live-preview">
      <img src={src} alt={`Live preview of job ${job.job_id}`} />
      <figcaption class="muted">Live preview{job.progress?.scene != null ? ` of scene ${job.progress.scene}` : ''}: the finished image replaces it.</figcaption>
    </figure>
  );
}
