import type { JobRow } from '../jobs/row.js';
import type { Presenter } from './present.js';
import { costView } from './present-control.js';
import { TERMINAL } from '../jobs/types.js';
import { CANCELED_MESSAGE, seedStatus } from '../jobs/seed-status.js';
import { isoSeconds } from '../util/time.js';

/**
 * An item as a batch lists it: its place, state, money and its result (URLs signed now) or error.
 * Leaner than the job view: no queue position or ETA per item, so a page of 500 costs no queue walk.
 */
export async function presentBatchItem(presenter: Presenter, item: JobRow): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {
    index: Number(item.batch_index),
    job_id: item.id,
    status: seedStatus(item.status),
    operation: item.operation,
    created_at: isoSeconds(Number(item.created_at)),
  };
  if (item.started_at != null) out.started_at = isoSeconds(Number(item.started_at));
  if (item.completed_at != null && TERMINAL.has(item.status)) out.completed_at = isoSeconds(Number(item.completed_at));
  out.attempts = Number(item.attempts);
  out.cost = costView(item);
  if (item.status === 'completed' && item.result_expired_at == null) {
    const result = await presenter.result(item);
    if (result) out.result = result;
  }
  if (item.status === 'failed') out.error = { code: item.error_code ?? 'internal_error', message: item.error_message ?? 'The item failed.' };
  if (item.status === 'canceled') {
    out.error = { code: 'canceled', message: item.error_message ?? CANCELED_MESSAGE };
    out.canceled = true;
  }
  if (item.metadata_json) out.metadata = JSON.parse(item.metadata_json) as Record<string, string>;
  if (item.result_expired_at != null) out.result_expired = true;
  return out;
}
