import os from 'node:os';
import { Semaphore } from '../util/semaphore.js';

/**
 * How many images this process holds in flight at once (EASEL_IMAGE_WORK_CONCURRENCY, default the
 * machine's cores, at least 2), in two lanes of that size:
 *  - `finish`: a provider's output decoded, encoded three ways and signed (src/pipelines/store-image.ts);
 *  - `render`: the offline renderer drawing a result (src/providers/sketch-provider.ts).
 * Every image in flight costs its raw pixels (4 MB at 1024×1024) and libvips' buffers; a hundred
 * worker slots whose provider answers arrive together would otherwise hold a hundred decoded
 * images at once, on a machine that encodes two or four at a time anyway, and glibc keeps what
 * libvips frees in per-thread arenas, so that peak stays resident long after the burst
 * (docs/DECISIONS.md, "Image work bounded per process"). Two lanes, not one: a story's next
 * render (its critical path) must not queue behind the encodes of images already rendered.
 * Waiters keep their arrival order; nothing is refused.
 */
export function defaultImageWorkConcurrency(): number {
  return Math.max(2, os.availableParallelism());
}

export type ImageWorkLane = 'finish' | 'render';

const gates: Record<ImageWorkLane, Semaphore> = {
  finish: new Semaphore(defaultImageWorkConcurrency()),
  render: new Semaphore(defaultImageWorkConcurrency()),
};

/** Sets the bound of each lane (at start-up, from the configuration); calls already waiting keep the old gate. */
export function configureImageWork(size: number): void {
  for (const lane of Object.keys(gates) as ImageWorkLane[]) if (gates[lane].size !== size) gates[lane] = new Semaphore(size);
}

/**
 * Runs `fn` once a slot of its lane is free. Never nest calls of one lane: `fn` must not itself
 * wait for a slot of the same lane, or a full lane would wait on itself.
 */
export function imageWork<T>(lane: ImageWorkLane, fn: () => Promise<T>): Promise<T> {
  return gates[lane].run(fn);
}

/** Slots in use and callers waiting now, per lane (tests and diagnostics). */
export function imageWorkLoad(lane: ImageWorkLane): { size: number; inUse: number; waiting: number } {
  const g = gates[lane];
  return { size: g.size, inUse: g.inUse, waiting: g.waiters };
}
