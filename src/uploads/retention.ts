import type { Db } from '../store/db.js';
import type { BlobStore } from '../blob/port.js';

const BATCH = 100;
/** Batches per sweep: a backlog (a sweeper that was down) drains at 2 000 uploads a tick without one tick running unbounded. */
const MAX_BATCHES = 20;

/**
 * Deletes uploads older than `retentionMs`: the blob first, then its row, so a crash in between
 * leaves a row the next sweep finishes (deleting a missing blob is a no-op), never a blob whose
 * record is gone. Several sweepers at once are safe for the same reason. Returns how many rows it deleted.
 */
export async function sweepUploads(db: Db, blob: BlobStore, retentionMs: number, now = Date.now()): Promise<number> {
  let n = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const due = await db
      .selectFrom('uploads')
      .select(['id', 'key'])
      .where('created_at', '<=', now - retentionMs)
      .orderBy('created_at')
      .limit(BATCH)
      .execute();
    for (const { id, key } of due) {
      await blob.delete(key);
      const r = await db.deleteFrom('uploads').where('id', '=', id).executeTakeFirst();
      n += Number(r.numDeletedRows);
    }
    if (due.length < BATCH) break;
  }
  return n;
}
