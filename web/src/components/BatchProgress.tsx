import type { BatchProgress as Counts } from '../types';

/** Items that ended (completed, failed or canceled): what a batch's progress counts. */
export function itemsEnded(b: Counts): number {
  return b.items_completed + b.items_failed + b.items_canceled;
}

/**
 * A batch's items as one stacked bar (completed, failed, canceled, running) and "ended/total items".
 * An SVG with sizes as attributes: the CSP forbids inline styles, and <progress> has one value only.
 */
export function BatchProgress({ batch, jobId }: { batch: Counts; jobId: string }) {
  const total = Math.max(1, batch.items_total);
  const parts: { cls: string; n: number }[] = [
    { cls: 'completed', n: batch.items_completed },
    { cls: 'failed', n: batch.items_failed },
    { cls: 'canceled', n: batch.items_canceled },
    { cls: 'processing', n: batch.items_running },
  ];
  let x = 0;
  const label = `${itemsEnded(batch)}/${batch.items_total} items`;
  const detail = [batch.items_failed ? `${batch.items_failed} failed` : '', batch.items_canceled ? `${batch.items_canceled} canceled` : ''].filter(Boolean).join(', ');
  return (
    <span class="progress">
      <svg class="batch-bar" viewBox={`0 0 ${total} 1`} preserveAspectRatio="none" role="img" aria-label={`Item progress for batch ${jobId}: ${batch.items_completed} completed, ${batch.items_failed} failed, ${batch.items_canceled} canceled, ${batch.items_running} running, ${batch.items_pending} pending`}>
        <rect class="bar-bg" x={0} y={0} width={total} height={1} />
        {parts.map((p) => {
          const r = p.n > 0 ? <rect key={p.cls} class={`bar-${p.cls}`} x={x} y={0} width={p.n} height={1} /> : null;
          x += p.n;
          return r;
        })}
      </svg>
      <span class="progress-text" data-testid="batch-progress" aria-live="polite">
        {label}
      </span>
      {detail ? (
        <span class="error-inline" data-testid="batch-progress-failed">
          {detail}
        </span>
      ) : null}
    </span>
  );
}
