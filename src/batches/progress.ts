import { sql } from 'kysely';
import type { Db } from '../store/db.js';

/** A batch's totals as its job view shows them (src/views/present.ts). */
export interface BatchTotals {
  operation: string;
  items_total: number;
  items_completed: number;
  items_failed: number;
  items_canceled: number;
  items_running: number;
  hold_micros: number;
  charged_micros: number;
  refunded_micros: number;
}

/**
 * The batch's totals row (kept by its items' transitions) and how many items run now: one
 * primary-key read and one index range over the running items (at most the account's running
 * limit, plus items waiting for a retry), so a poll of a 1 000-item batch counts nothing else.
 */
export async function batchTotals(db: Db, batchId: string): Promise<BatchTotals | undefined> {
  const b = await db.selectFrom('batches').selectAll().where('job_id', '=', batchId).executeTakeFirst();
  if (!b) return undefined;
  const running = await db
    .selectFrom('jobs')
    .select(sql<number>`count(*)`.as('n'))
    .where('batch_id', '=', batchId)
    .where('status', '=', 'processing')
    .executeTakeFirstOrThrow();
  return {
    operation: b.operation,
    items_total: Number(b.items_total),
    items_completed: Number(b.items_completed),
    items_failed: Number(b.items_failed),
    items_canceled: Number(b.items_canceled),
    items_running: Number(running.n),
    hold_micros: Number(b.hold_micros),
    charged_micros: Number(b.charged_micros),
    refunded_micros: Number(b.refunded_micros),
  };
}

/** Where a batch's items and their results are, relative to the API base. */
export function batchLinks(batchId: string): { items_url: string; results_url: string } {
  return { items_url: `/v1/batches/${batchId}/items`, results_url: `/v1/batches/${batchId}/results.jsonl` };
}
