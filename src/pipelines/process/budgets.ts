import sharp, { type Metadata } from 'sharp';
import { JobFailure } from '../../errors.js';
import { MAX_PIXELS } from '../../imaging/limits.js';
import type { ProcessOp } from './types.js';
import type { Config } from '../../config.js';
import { processingBudgetExceeded } from '../../observability/metrics.js';

/** The job error code (and the sync route's 422 error code) of a processing budget exceeded. */
export const BUDGET_EXCEEDED = 'processing_budget_exceeded';

/**
 * What one processing operation may spend (docs/DECISIONS.md, "Work isolation"): pixels, checked
 * from the input's header before anything is decoded, then time and resident memory, enforced on
 * the child process that runs it (src/pipelines/process/child-pool.ts).
 */
export interface ProcessBudgets {
  /** Largest AVIF written (any operation whose output is AVIF): the AV1 encoder's time grows with it. */
  avifMaxPixels: number;
  /** Largest input of remove-background: several full-size buffers (pixels, mask, alpha, output). */
  removeBgMaxPixels: number;
  timeoutMs: number;
  memoryBytes: number;
}

/** The budgets the configuration sets (EASEL_PROCESS_*). */
export function budgetsOf(c: Pick<Config, 'processAvifMaxPixels' | 'processRemoveBgMaxPixels' | 'processTimeoutMs' | 'processMemoryBytes'>): ProcessBudgets {
  return { avifMaxPixels: c.processAvifMaxPixels, removeBgMaxPixels: c.processRemoveBgMaxPixels, timeoutMs: c.processTimeoutMs, memoryBytes: c.processMemoryBytes };
}

export function budgetExceeded(budget: 'pixels' | 'time' | 'memory', field: string, message: string): JobFailure {
  processingBudgetExceeded.inc({ budget });
  return new JobFailure(BUDGET_EXCEEDED, `${field}: ${message}`, false);
}

const mp = (n: number) => `${(n / 1e6).toFixed(1).replace(/\.0$/, '')} MP`;

/** The budgets of an operation, as its OpenAPI description states them. */
export function describeBudgets(op: ProcessOp, b: ProcessBudgets): string {
  const parts = [`input at most ${mp(MAX_PIXELS)}`];
  if (op === 'remove-background') parts.push(`input at most ${mp(b.removeBgMaxPixels)} for this operation`);
  if (op !== 'remove-background') parts.push(`an AVIF output at most ${mp(b.avifMaxPixels)}`);
  parts.push(`at most ${b.timeoutMs / 1000} s and ${Math.round(b.memoryBytes / 1048576)} MiB of memory`);
  return `Budgets: ${parts.join(', ')}; an input over a pixel budget, or an operation that runs out of time or memory, answers 422 ${BUDGET_EXCEEDED} (nothing is charged).`;
}

/** Output size of an operation, as far as it is known before running it (the input's, otherwise). */
function outputPixels(op: ProcessOp, params: Record<string, unknown>, w: number, h: number): number {
  const n = (k: string) => (typeof params[k] === 'number' ? (params[k] as number) : null);
  if (op === 'crop') return (n('width') ?? w) * (n('height') ?? h);
  if (op === 'resize') {
    const rw = n('width') ?? Math.max(1, Math.round((w * (n('height') ?? h)) / h));
    const rh = n('height') ?? Math.max(1, Math.round((h * (n('width') ?? w)) / w));
    return rw * rh;
  }
  if (op === 'rotate' && params.expand !== false) {
    const rad = ((n('angle') ?? 0) * Math.PI) / 180;
    return Math.ceil(Math.abs(w * Math.cos(rad)) + Math.abs(h * Math.sin(rad))) * Math.ceil(Math.abs(w * Math.sin(rad)) + Math.abs(h * Math.cos(rad)));
  }
  return w * h;
}

/**
 * Refuses, from the header alone, an operation over its pixel budgets. An unreadable header is left
 * to the decode, which says what is wrong with the file.
 */
export async function checkPixelBudgets(op: ProcessOp, params: Record<string, unknown>, input: Buffer, b: ProcessBudgets): Promise<void> {
  let meta: Metadata;
  try {
    meta = await sharp(input).metadata();
  } catch {
    return;
  }
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!w || !h) return;
  if (op === 'remove-background' && w * h > b.removeBgMaxPixels) {
    throw budgetExceeded('pixels', 'input_image_url', `the image is ${w} × ${h} px; remove-background takes at most ${mp(b.removeBgMaxPixels)} on this server. Resize it first.`);
  }
  const avifIn = meta.format === 'heif' && meta.compression === 'av1';
  const avifOut = op === 'convert' ? params.format === 'avif' : op !== 'remove-background' && avifIn;
  const out = outputPixels(op, params, w, h);
  if (avifOut && out > b.avifMaxPixels) {
    throw budgetExceeded('pixels', 'input_image_url', `the AVIF output would be ${mp(out)}; AVIF is written up to ${mp(b.avifMaxPixels)} on this server. Resize first, or choose png, jpeg or webp.`);
  }
}
