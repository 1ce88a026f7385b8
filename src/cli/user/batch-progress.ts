import { displayStatus, type BatchJob } from '../../sdk/index.js';
import { formatSeconds, ttyBar } from './progress.js';

export interface ItemProgress {
  /** The batch as last read, and how many items' files are in the output directory. */
  update(job: BatchJob, saved: number): void;
  stop(): void;
}

/** Items that ended (completed, failed or canceled): what the bar counts. */
export const itemsEnded = (job: BatchJob): number => (job.batch ? job.batch.items_completed + job.batch.items_failed + job.batch.items_canceled : job.scenes_completed);
const itemsFailed = (job: BatchJob): number => (job.batch ? job.batch.items_failed + job.batch.items_canceled : 0);

/**
 * The ETA is our own, from the rate observed while watching: time per item ended since the first
 * look times the items left. A resumed batch starts part-way, so its earlier items do not count;
 * items run several at a time, so a rate of items (not a time per item) is the honest measure.
 */
function etaClock() {
  let t0 = 0;
  let v0 = -1;
  return (ended: number, total: number): string => {
    if (v0 < 0) {
      t0 = Date.now();
      v0 = ended;
    }
    if (ended >= total) return '0s';
    if (ended <= v0) return '--';
    return formatSeconds((((Date.now() - t0) / (ended - v0)) * (total - ended)) / 1000);
  };
}

/**
 * A batch's items ended / total on stderr, with failures, files saved and the ETA. In a terminal a
 * cli-progress bar redrawn in place; anywhere else (a pipe, a log, CI) one plain line per change,
 * `items 7/12 failed 1 saved 6 eta 4s`, so logs stay readable.
 */
export function batchProgress(stream: NodeJS.WriteStream = process.stderr): ItemProgress {
  const eta = etaClock();
  if (stream.isTTY) {
    const bar = ttyBar(stream, 'items [{bar}] {value}/{total} | failed {failed} | saved {saved} | ETA {eta_text} | {status}');
    let started = false;
    return {
      update(job, saved) {
        const total = Math.max(job.batch?.items_total ?? job.scenes_total, 1);
        const ended = itemsEnded(job);
        const payload = { failed: itemsFailed(job), saved, eta_text: eta(ended, total), status: displayStatus(job) };
        if (!started) {
          bar.start(total, ended, payload);
          started = true;
        } else {
          bar.setTotal(total);
          bar.update(ended, payload);
        }
      },
      stop() {
        if (started) bar.stop();
      },
    };
  }
  let last = '';
  return {
    update(job, saved) {
      const total = job.batch?.items_total ?? job.scenes_total;
      const ended = itemsEnded(job);
      const key = `items ${ended}/${total} failed ${itemsFailed(job)} saved ${saved}`;
      const left = eta(ended, total);
      if (key !== last) stream.write(`${key} eta ${left}\n`);
      last = key;
    },
    stop() {},
  };
}
