import { useRef, useState } from 'preact/hooks';
import { get } from '../api';
import { href } from '../router';
import { useAsync } from '../use-async';
import { shownStatus, type BatchItem, type BatchItemList } from '../types';
import { ErrorBox } from './ErrorBox';
import { Status } from './Status';

const PAGE = 60;
const FILTERS: { value: string; label: string }[] = [
  { value: '', label: 'all' },
  { value: 'completed', label: 'completed' },
  { value: 'failed', label: 'failed or canceled' },
  { value: 'pending,processing', label: 'not finished' },
];

/** A completed item's picture: a generation's WebP (PNG if none), a process job's image. */
export function itemImageUrl(item: BatchItem): string | null {
  const r = item.result;
  return r?.formats?.webp?.url ?? r?.formats?.png?.url ?? r?.image_url ?? null;
}

/** One item as a tile: its picture, or its error code, or its status; it links to the item's job page. */
function Tile({ item }: { item: BatchItem }) {
  // Every read of the page signs the URLs anew: keep the first one, so a live update does not reload the picture.
  const url = useRef<string | null>(null);
  url.current ??= itemImageUrl(item);
  const img = url.current;
  const status = shownStatus(item);
  return (
    <li class="tile" data-index={item.index} data-status={status} data-job-id={item.job_id}>
      <a href={href.job(item.job_id)} aria-label={`Item ${item.index + 1}: ${status}${item.error ? ` (${item.error.code})` : ''}`}>
        {img ? (
          <img src={img} alt="" loading="lazy" data-testid="item-image" />
        ) : (
          <span class="tile-body">
            {item.error ? (
              <code class="error-inline" data-testid="item-error-code">
                {item.error.code}
              </code>
            ) : item.result_expired ? (
              <span class="muted">files expired</span>
            ) : (
              <span class="muted">{status}…</span>
            )}
          </span>
        )}
        <span class="tile-caption">
          <span class="scene-no">{item.index + 1}</span> <Status status={status} />
        </span>
      </a>
    </li>
  );
}

/**
 * A batch's items, a page at a time (GET /v1/batches/{id}/items). `version` changes whenever the
 * batch's counts do (a live event or a poll), which re-reads the page shown.
 */
export function BatchItemsGrid({ batchId, version }: { batchId: string; version: string }) {
  const [status, setStatus] = useState('');
  const [offset, setOffset] = useState(0);
  const page = useAsync(
    (signal) => {
      const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
      if (status) q.set('status', status);
      return get<BatchItemList>(`/v1/batches/${encodeURIComponent(batchId)}/items?${q}`, { signal });
    },
    [batchId, status, offset, version],
  );
  const items = page.data?.items ?? [];
  const total = page.data?.total ?? 0;
  return (
    <section aria-labelledby="items-h">
      <h2 id="items-h">Items</h2>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter items">
        <div class="field">
          <label for="items-status">Show</label>
          <select id="items-status" value={status} onChange={(e) => (setStatus((e.target as HTMLSelectElement).value), setOffset(0))}>
            {FILTERS.map((f) => (
              <option key={f.value} value={f.value}>
                {f.label}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={page.error} />
      {page.loading && !page.data ? <p aria-busy="true">Loading…</p> : null}
      <ol class="tiles" data-testid="batch-items">
        {items.map((it) => (
          <Tile key={it.job_id} item={it} />
        ))}
      </ol>
      {total > PAGE ? (
        <nav class="pager" aria-label="Item pages">
          <button type="button" class="secondary" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span class="muted">{`${offset + 1}–${Math.min(offset + PAGE, total)} of ${total}`}</span>
          <button type="button" class="secondary" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
            Next
          </button>
        </nav>
      ) : null}
    </section>
  );
}
