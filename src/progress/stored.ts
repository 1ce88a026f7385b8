import type { ProgressStage } from '../providers/port.js';

/**
 * What a running attempt last reported, as kept in `jobs.progress_json` (migration 0016). One
 * shape for every backend: the adapters speak their own terms (src/providers/port.ts
 * ProviderProgress), the reporter (./reporter.ts) maps them here.
 */
export interface StoredProgress {
  /** The attempt that wrote it: a later attempt's view never shows an earlier one's progress. */
  run: number;
  stage: ProgressStage;
  step?: number;
  steps?: number;
  /** 0…1 of the whole job (a story: of all its scenes), never decreasing within an attempt. */
  fraction: number;
  /** Stories: the scene (1-based) being drawn. */
  scene?: number;
  queue_position?: number;
  /** The current preview frame's blob key (jobs/<id>/preview/…), when one exists. */
  preview_key?: string;
  /** Epoch ms of this report. */
  updated_at: number;
}

/** Reads the column; null for anything that is not a well-formed report of the given attempt. */
export function readProgress(json: string | null, attempt: number): StoredProgress | null {
  if (!json) return null;
  try {
    const p = JSON.parse(json) as StoredProgress;
    return p && typeof p === 'object' && p.run === attempt && typeof p.fraction === 'number' ? p : null;
  } catch {
    return null;
  }
}

/** Where a job's preview frames live: one folder, deleted as a whole when the attempt ends. */
export function previewFolder(jobId: string): string {
  return `jobs/${jobId}/preview`;
}
