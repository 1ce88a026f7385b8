import v8 from 'node:v8';
import vm from 'node:vm';
import { mallocTrim } from './glibc-malloc.js';

/**
 * Returns the memory of finished image work once the workers go idle. Each image job leaves
 * megabytes of Buffers (the provider's bytes, three encodes, their signed copies) that are garbage
 * the moment the job settles, but V8 collects only when its own heap asks for it: a worker that
 * just ran a burst and then waits can sit on hundreds of megabytes of dead Buffers for minutes
 * (bench row "Memory", after image work). One full collection a moment after the last job ended,
 * only when that much Buffer memory is held, hands it back; it never runs while a job runs.
 *
 * Then the native side: glibc keeps the pixel buffers libvips freed in per-thread arenas, so the same
 * idle moment asks it to hand its free pages back (`malloc_trim`, src/util/glibc-malloc.ts) — a
 * moment after the collection, whose freed Buffers are released on V8's helper threads.
 *
 * `gc` is not exposed without --expose-gc on the command line; V8 accepts the flag at run time and
 * the function is then reachable from a fresh context (the standard way when the command line is
 * not ours: `easel` is started by npm, systemd, Docker or a test harness).
 */

/**
 * Memory held for Buffer and ArrayBuffer contents above which an idle moment is worth a collection.
 * `arrayBuffers`, not `external`: V8 adjusts `external` only at a later collection, so right after
 * one it still shows what was just freed (and would ask for another).
 */
const MIN_BUFFER_BYTES = 32 * 1024 * 1024;

let gcFn: (() => void) | null | undefined;

function exposedGc(): (() => void) | null {
  if (gcFn !== undefined) return gcFn;
  try {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  } catch {
    gcFn = null;
  }
  return gcFn;
}

/** How long after the collection the arenas are trimmed. */
const TRIM_AFTER_GC_MS = 100;

export class IdleCollector {
  private timer: NodeJS.Timeout | null = null;
  /** Collections run (for the tests and the log). */
  runs = 0;
  /** Arena trims run (malloc_trim: Linux with glibc only). */
  trims = 0;

  constructor(
    private readonly idleMs = 1000,
    private readonly minBufferBytes = MIN_BUFFER_BYTES,
    private readonly trim: () => boolean | null = mallocTrim,
  ) {}

  /** The work went idle: collect after `idleMs` unless work starts again first. */
  idle(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const gc = process.memoryUsage().arrayBuffers >= this.minBufferBytes ? exposedGc() : null;
      if (gc) {
        gc();
        this.runs++;
      }
      this.timer = setTimeout(() => {
        this.timer = null;
        if (this.trim() !== null) this.trims++;
      }, gc ? TRIM_AFTER_GC_MS : 0);
      this.timer.unref();
    }, this.idleMs);
    this.timer.unref();
  }

  /** Work started: an idle collection waiting for its moment is not wanted now. */
  busy(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.busy();
  }
}
