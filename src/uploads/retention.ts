import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';
import { spendResets } from '../util/spend-periods.js';

const BATCH = 100;
/** Batches per sweep: a backlog (a sweeper that was down) drains at 2 000 uploads a tick without one tick running unbounded. */
const MAX_BATCHES = 20;

/**
 * Deletes the blobs of uploads older than `retentionMs`, the blob first, then the row, so a crash
 * in between leaves a row the next sweep finishes (deleting a missing blob is a no-op), never a
 * blob whose record is gone; several sweepers at once are safe for the same reason. A row of the
 * current UTC day outlives its blob (marked `blob_deleted_at`) until the day ends: the daily
 * quota counts it, whatever the retention. Returns how many blobs it deleted.
 */
export async function sweepUploads(db: Db, blob: BlobStore, retentionMs: number, now = Date.now()): Promise<number> {
  const dayStart = spendResets(now).day - 86_400_000;
  let n = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const due = await db
      .selectFrom('uploads')
      .select(['id', 'key', 'created_at'])
      .where('created_at', '<=', now - retentionMs)
      .where('blob_deleted_at', 'is', null)
      .orderBy('created_at')
      .limit(BATCH)
      .execute();
    for (const { id, key, created_at } of due) {
      await blob.delete(key);
      if (Number(created_at) < dayStart) await db.deleteFrom('uploads').where('id', '=', id).execute();
      else await db.updateTable('uploads').set({ blob_deleted_at: now }).where('id', '=', id).execute();
      n++;
    }
    if (due.length < BATCH) break;
  }
  // Rows kept for the quota of a day that has ended.
  await db.deleteFrom('uploads').where('blob_deleted_at', 'is not', null).where('created_at', '<', dayStart).execute();
  return n;
}
