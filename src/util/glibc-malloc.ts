import { createRequire } from 'node:module';

/**
 * Two calls into glibc's allocator, through koffi (a foreign-function interface: no compiler at
 * install), so that the memory of a burst of image work goes back to the system
 * (docs/DECISIONS.md, "Then the arenas"):
 *  - `limitArenas(n)`: mallopt(M_ARENA_MAX, n) at start-up. glibc gives threads arenas of their
 *    own (up to 8 per core); libvips allocates its pixel buffers on its worker threads, and each
 *    arena keeps its freed top — which `malloc_trim` does not release outside the main arena. The
 *    same as MALLOC_ARENA_MAX in the environment, without needing every launcher to set it;
 *  - `mallocTrim()`: malloc_trim(0) when the workers go idle (src/util/idle-gc.ts). Since glibc 2.8
 *    it hands every whole free page of every arena back (madvise), once, while nothing runs.
 * An allocator setting that returns each buffer as it is freed (`MALLOC_MMAP_THRESHOLD_`) was
 * measured at 9–19 ms more CPU per image job; these two cost nothing while jobs run.
 *
 * Loaded on first use, on Linux; where glibc is not what answers to `libc.so.6` with these two
 * symbols (musl, koffi missing) loading fails, both answer null and nothing happens. No separate
 * glibc check: `process.report.getReport()`, the documented way to ask, costs ~8 ms at start-up.
 */
interface Glibc {
  mallopt(param: number, value: number): number;
  malloc_trim(pad: number): number;
}

/** glibc's malloc.h. */
const M_ARENA_MAX = -8;

let glibc: Glibc | null | undefined;

function load(): Glibc | null {
  if (glibc !== undefined) return glibc;
  glibc = null;
  if (process.platform !== 'linux') return glibc;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    glibc = {
      mallopt: libc.func('int mallopt(int param, int value)') as (param: number, value: number) => number,
      malloc_trim: libc.func('int malloc_trim(size_t pad)') as (pad: number) => number,
    };
  } catch {
    glibc = null;
  }
  return glibc;
}

/** At most `n` malloc arenas from now on: true if glibc took the setting, null where unavailable. */
export function limitArenas(n: number): boolean | null {
  const g = load();
  return g ? g.mallopt(M_ARENA_MAX, n) === 1 : null;
}

/** Returns free malloc memory to the system: true if some was, false if none, null where unavailable. */
export function mallocTrim(): boolean | null {
  const g = load();
  return g ? g.malloc_trim(0) === 1 : null;
}
