import { useState } from 'preact/hooks';
import { post } from '../api';
import { href } from '../router';
import { ErrorBox } from './ErrorBox';
import type { BatchAccepted } from '../types';

/** The prompts of a textarea, one a line; blank lines are skipped. */
export function promptLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/**
 * A batch of images, one prompt a line: POST /v1/batches {operation: image, items: [{prompt}…]}.
 * On 202 the batch page opens; a refused batch shows which line was refused (details.fields).
 */
export function BatchForm({ aspectRatios }: { aspectRatios: string[] }) {
  const [text, setText] = useState('');
  const [aspect, setAspect] = useState('1:1');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const prompts = promptLines(text);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await post<BatchAccepted>('/v1/batches', { operation: 'image', items: prompts.map((prompt) => ({ prompt })), defaults: { aspect_ratio: aspect } });
      location.hash = href.batch(r.job_id);
    } catch (err) {
      setError(err as Error);
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="batch-form-h" class="card">
      <h2 id="batch-form-h">Start a batch of images</h2>
      <form onSubmit={submit} class="stack">
        <label for="batch-prompts">Prompts, one per line</label>
        <textarea id="batch-prompts" rows={6} required value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} aria-describedby="batch-help" />
        <p id="batch-help" class="muted">
          Each line becomes one image job of the batch (<code>POST /v1/batches</code>); every price is held at once.
        </p>
        <label for="batch-aspect">Aspect ratio of every image</label>
        <select id="batch-aspect" value={aspect} onChange={(e) => setAspect((e.target as HTMLSelectElement).value)}>
          {aspectRatios.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
        <button type="submit" disabled={busy || prompts.length === 0}>
          {busy ? 'Submitting…' : `Start batch of ${prompts.length} image${prompts.length === 1 ? '' : 's'}`}
        </button>
      </form>
      <ErrorBox error={error} />
    </section>
  );
}
