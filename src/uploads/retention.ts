import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';
import { spendResets } from '../util/spend-periods.js';

/** Uploads per batch: one read, one batched blob delete, one or two statements on their rows. */
const BATCH = 500;

/**
 * Deletes the blobs of uploads older than `retentionMs`, the blobs first, then the rows, so a crash
 * in between leaves rows the next sweep finishes (deleting a missing blob is a no-op), never a
 * blob whose record is gone; several sweepers at once are safe for the same reason. A row of the
 * current UTC day outlives its blob (marked `blob_deleted_at`) until the day ends: the daily
 * quota counts it, whatever the retention. A backlog is swept batch after batch, a turn of the
 * event loop between them. Returns how many blobs it deleted.
 */
export async function sweepUploads(db: Db, blob: BlobStore, retentionMs: number, now = Date.now()): Promise<number> {
  const dayStart = spendResets(now).day - 86_400_000;
  let n = 0;
  for (;;) {
    // Through the partial index uploads_blobs_due (src/store/migrations-sweep.ts).
    const due = await db
      .selectFrom('uploads')
      .select(['id', 'key', 'created_at'])
      .where('created_at', '<=', now - retentionMs)
      .where('blob_deleted_at', 'is', null)
      .orderBy('created_at')
      .limit(BATCH)
      .execute();
    if (due.length === 0) break;
    await blob.deleteMany(due.map((u) => u.key));
    const ended = due.filter((u) => Number(u.created_at) < dayStart).map((u) => u.id);
    const today = due.filter((u) => Number(u.created_at) >= dayStart).map((u) => u.id);
    if (ended.length > 0) await db.deleteFrom('uploads').where('id', 'in', ended).execute();
    if (today.length > 0) await db.updateTable('uploads').set({ blob_deleted_at: now }).where('id', 'in', today).execute();
    n += due.length;
    if (due.length < BATCH) break;
    await nextTurn();
  }
  // Rows kept for the quota of a day that has ended, a batch per statement.
  for (;;) {
    const r = await db
      .deleteFrom('uploads')
      .where('id', 'in', (eb) => eb.selectFrom('uploads').select('id').where('blob_deleted_at', 'is not', null).where('created_at', '<', dayStart).limit(BATCH * 2))
      .executeTakeFirst();
    if (Number(r.numDeletedRows ?? 0) < BATCH * 2) break;
    await nextTurn();
  }
  return n;
}
