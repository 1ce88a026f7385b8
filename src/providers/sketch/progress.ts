import sharp from 'sharp';
import type { ProgressSink } from '../port.js';
import { abortableDelay } from './delay.js';

/** The renderer "samples" in this many steps, as a diffusion backend would, over its simulated latency. */
export const SKETCH_STEPS = 20;
/** Steps after which it shows a frame: coarse first, finer each time. */
const PREVIEW_AT: Record<number, number> = { 5: 12, 10: 24, 15: 48 };
/** The frames are drawn from one small render: a preview costs a thumbnail, never a full render. */
const PREVIEW_PX = 192;

/**
 * Spends `ms` of the call's simulated latency in SKETCH_STEPS steps, reporting each, with
 * coarse-to-fine preview frames (the final picture at 12, 24, then 48 pixels across, scaled back
 * up without smoothing) — so every progress path is exercised offline, deterministically: the
 * final pixels do not depend on any of this.
 */
export async function sampleSteps(ms: number, signal: AbortSignal, sink: ProgressSink, draw: (w: number, h: number) => Promise<Buffer>, size: { width: number; height: number }): Promise<void> {
  const per = ms / SKETCH_STEPS;
  let thumb: Promise<Buffer> | null = null;
  const scale = PREVIEW_PX / Math.max(size.width, size.height);
  const tw = Math.max(8, Math.round(size.width * scale));
  const th = Math.max(8, Math.round(size.height * scale));
  sink({ stage: 'sampling', step: 0, steps: SKETCH_STEPS });
  for (let step = 1; step <= SKETCH_STEPS; step++) {
    await abortableDelay(per, signal);
    const coarse = PREVIEW_AT[step];
    let preview: Buffer | undefined;
    if (coarse) {
      thumb ??= draw(tw, th);
      const across = Math.min(coarse, tw);
      const small = await sharp(await thumb).resize(across, Math.max(1, Math.round((across * th) / tw)), { kernel: 'nearest' }).png().toBuffer();
      preview = await sharp(small).resize(tw, th, { kernel: 'nearest' }).png().toBuffer();
    }
    sink({ stage: 'sampling', step, steps: SKETCH_STEPS, ...(preview ? { preview: { bytes: preview } } : {}) });
  }
}
