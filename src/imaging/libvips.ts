import os from 'node:os';
import sharp from 'sharp';
import { configureImageWork } from './image-work.js';
import { limitArenas } from '../util/glibc-malloc.js';

/**
 * libvips in the API/worker process, set on purpose rather than left to sharp's defaults
 * (docs/DECISIONS.md, "Work isolation"):
 *  - no operation cache: sharp keeps up to 50 MB and 100 operations per process by default, and
 *    every image Easel handles is new (a cache hit never happens), so the cache only holds memory;
 *  - libvips threads = the machine's cores, stated: generation post-processing (three encodes of a
 *    provider's image, signing) runs here and is what a paid request waits for. Heavy free work does
 *    not run here at all: it runs in niced child processes with one libvips thread each
 *    (src/pipelines/process/child-main.ts);
 *  - at most `imageWorkConcurrency` images in flight at once (src/imaging/image-work.ts);
 *  - two glibc malloc arenas, unless MALLOC_ARENA_MAX says otherwise: libvips' threads would each get
 *    one, and what an arena frees at its top stays resident (src/util/glibc-malloc.ts). Set here,
 *    before the first image, so the threads that do image work share the two.
 */
export function configureLibvips(imageWorkConcurrency: number): void {
  sharp.cache(false);
  sharp.concurrency(os.availableParallelism());
  configureImageWork(imageWorkConcurrency);
  if (!process.env.MALLOC_ARENA_MAX) limitArenas(MALLOC_ARENAS);
}

const MALLOC_ARENAS = 2;
