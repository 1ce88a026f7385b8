import path from 'node:path';
import { TERMINAL_STATUSES, type BatchItem, type BatchJob, type ImageFormat } from '../../sdk/index.js';
import { mapLimit } from '../../sdk/map-limit.js';
import { sleep } from '../../sdk/wait.js';
import type { Ctx } from './context.js';
import { itemStem, removeStaleParts, writeResults } from './batch-dir.js';
import type { ItemProgress } from './batch-progress.js';

export interface FollowOptions {
  /** Save each completed item's image here (DIR/NNNN.<ext>), and DIR/results.jsonl at the end. */
  out?: string;
  /** Keep looking until the batch ends (else: one look, one download pass). */
  watch: boolean;
  format: ImageFormat | 'all';
  pollIntervalMs: number;
  /** Where progress is shown while watching (the caller owns it, so an interrupt can stop it). */
  progress?: ItemProgress;
  /** Called with each file newly written into `out` (pipe mode prints it). */
  onSaved?: (file: string) => void;
}

export interface FollowOutcome {
  job: BatchJob;
  /** Every saved file of every completed item, in index order (those found already in place included). */
  files: string[];
  /** Files this run fetched; the rest were in place already. */
  downloaded: number;
  /** DIR/results.jsonl, when the batch has ended and --out was given. */
  results?: string;
}

const DOWNLOAD_CONCURRENCY = 4;
const PAGE = 500;

/**
 * Saves a batch's completed items into a directory, each once: an item whose file is already
 * there whole (same SHA-256 as the server reports) is kept without fetching it again, so a killed
 * run followed by another leaves every image downloaded exactly once.
 */
class ItemSaver {
  readonly files = new Map<number, string[]>();
  downloaded = 0;
  private readonly unavailable = new Set<number>();

  constructor(
    private readonly ctx: Ctx,
    private readonly id: string,
    readonly dir: string,
    private readonly o: FollowOptions,
  ) {
    removeStaleParts(dir);
  }

  get saved(): number {
    return this.files.size;
  }

  /**
   * One pass over the completed items (pages of 500, the server's most). Items completing during
   * the pass may shift across a page boundary and be missed; the next pass (and the final one,
   * made after the batch has ended, when nothing moves) picks them up.
   */
  async scan(total: number, onItem: () => void): Promise<void> {
    for await (const page of this.ctx.easel.batchItemPages(this.id, { status: 'completed', limit: PAGE })) {
      const todo = page.items.filter((i) => !this.files.has(i.index) && !this.unavailable.has(i.index));
      await mapLimit(todo, DOWNLOAD_CONCURRENCY, async (item) => {
        await this.save(item, total);
        onItem();
      });
    }
  }

  private async save(item: BatchItem, total: number): Promise<void> {
    if (!item.result) {
      this.unavailable.add(item.index);
      this.ctx.note(`item ${item.index}: ${item.result_expired ? 'its files were deleted after retention' : 'completed without a result'}; nothing to save`);
      return;
    }
    const got = await this.ctx.easel.downloadAll(item.result, this.dir, { formats: this.o.format, name: itemStem(item.index, total) });
    for (const f of got) {
      if (f.existed) continue;
      this.downloaded++;
      this.o.onSaved?.(f.path);
    }
    this.files.set(
      item.index,
      got.map((f) => f.path),
    );
  }

  async writeResults(): Promise<string> {
    return writeResults(this.dir, await this.ctx.easel.batchResults(this.id), this.files);
  }
}

const isTerminal = (j: BatchJob) => TERMINAL_STATUSES.includes(j.status);

/**
 * Reads the batch (and, with --watch, keeps reading it until it ends), showing items ended / total
 * on stderr, and with --out saves each completed item as soon as the count of completed items
 * moves. Polling, not the event stream: the counts and the items' pages are what is shown and
 * saved, and a poll of both is cheap next to an image.
 */
export async function followBatch(ctx: Ctx, id: string, o: FollowOptions): Promise<FollowOutcome> {
  const saver = o.out ? new ItemSaver(ctx, id, o.out, o) : null;
  const progress = o.watch ? (o.progress ?? null) : null;
  let job = await ctx.easel.getBatch(id);
  let scannedAt = -1;
  try {
    for (;;) {
      const ended = isTerminal(job);
      // A scan after the batch is seen ended finds every completed item where it stays.
      if (saver && (ended || job.batch?.items_completed !== scannedAt)) {
        await saver.scan(job.batch?.items_total ?? job.scenes_total, () => progress?.update(job, saver.saved));
        scannedAt = job.batch?.items_completed ?? -1;
      }
      progress?.update(job, saver?.saved ?? 0);
      if (ended || !o.watch) break;
      await sleep(o.pollIntervalMs);
      job = await ctx.easel.getBatch(id);
    }
  } finally {
    progress?.stop();
  }
  const files = saver ? [...saver.files.entries()].sort((a, b) => a[0] - b[0]).flatMap(([, f]) => f) : [];
  const results = saver && isTerminal(job) ? await saver.writeResults() : undefined;
  return { job, files, downloaded: saver?.downloaded ?? 0, ...(results ? { results } : {}) };
}

/** A path for people: relative to the working directory when it is inside it, else as given. */
export const shown = (p: string): string => {
  const rel = path.relative('.', p);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
};
