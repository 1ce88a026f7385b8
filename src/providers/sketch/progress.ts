import sharp from 'sharp';
import type { ProgressSink } from '../port.js';
import { abortableDelay } from './delay.js';

/** The renderer "samples" in this many steps, as a diffusion backend would, over its simulated latency. */
export const SKETCH_STEPS = 20;
/** Steps after which it shows a frame: coarse first, finer each time. */
const PREVIEW_AT: Record<number, number> = { 5: 12, 10: 24, 15: 48 };
/** The frames are drawn from one small render: a preview costs a thumbnail, never a full render. */
const PREVIEW_PX = 192;

/** A wait shorter than this is not worth reporting: no client could see it. */
const MIN_REPORTED_MS = 250;
/** Frames only when a call is long enough for the reporter to store one (it keeps one a second). */
const MIN_PREVIEW_MS = 1000;

/**
 * Spends `ms` of the call's simulated latency in SKETCH_STEPS steps, reporting each, with
 * coarse-to-fine preview frames (the final picture at 12, 24, then 48 pixels across, scaled back
 * up without smoothing) — so every progress path is exercised offline, deterministically: the
 * final pixels do not depend on any of this. Steps end at fixed instants from the start, so the
 * frames' drawing is absorbed by the waiting and the call still takes `ms` (the benchmarks'
 * critical path is the configured latency).
 */
export async function sampleSteps(ms: number, signal: AbortSignal, sink: ProgressSink, draw: (w: number, h: number) => Promise<Buffer>, size: { width: number; height: number }): Promise<void> {
  if (ms < MIN_REPORTED_MS) return abortableDelay(ms, signal);
  const began = performance.now();
  const per = ms / SKETCH_STEPS;
  const scale = PREVIEW_PX / Math.max(size.width, size.height);
  const tw = Math.max(8, Math.round(size.width * scale));
  const th = Math.max(8, Math.round(size.height * scale));
  const thumb = ms >= MIN_PREVIEW_MS ? draw(tw, th) : null;
  // Its rejection is seen where it is awaited; until then it must not count as unhandled.
  thumb?.catch(() => undefined);
  sink({ stage: 'sampling', step: 0, steps: SKETCH_STEPS });
  for (let step = 1; step <= SKETCH_STEPS; step++) {
    const coarse = PREVIEW_AT[step];
    let preview: Buffer | undefined;
    if (coarse && thumb) {
      const across = Math.min(coarse, tw);
      const small = await sharp(await thumb).resize(across, Math.max(1, Math.round((across * th) / tw)), { kernel: 'nearest' }).png().toBuffer();
      preview = await sharp(small).resize(tw, th, { kernel: 'nearest' }).png().toBuffer();
    }
    const wait = began + step * per - performance.now();
    if (wait > 0) await abortableDelay(wait, signal);
    sink({ stage: 'sampling', step, steps: SKETCH_STEPS, ...(preview ? { preview: { bytes: preview } } : {}) });
  }
  sink({ stage: 'encoding', fraction: 1 });
}
