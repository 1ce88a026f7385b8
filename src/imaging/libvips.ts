import os from 'node:os';
import sharp from 'sharp';

/**
 * libvips in the API/worker process, set on purpose rather than left to sharp's defaults
 * (docs/DECISIONS.md, "Work isolation"):
 *  - no operation cache: sharp keeps up to 50 MB and 100 operations per process by default, and
 *    every image Easel handles is new (a cache hit never happens), so the cache only holds memory;
 *  - libvips threads = the machine's cores, stated: generation post-processing (three encodes of a
 *    provider's image, signing) runs here and is what a paid request waits for. Heavy free work does
 *    not run here at all: it runs in niced child processes with one libvips thread each
 *    (src/pipelines/process/child-main.ts).
 */
export function configureLibvips(): void {
  sharp.cache(false);
  sharp.concurrency(os.availableParallelism());
}
