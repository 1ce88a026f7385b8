import type { JobParams, StoredImage } from '../jobs/types.js';

/**
 * What a story keeps: step outputs in `job_steps.output_json`, the final result in
 * `jobs.result_json`, and blobs under deterministic keys, so a resumed run finds everything an
 * earlier run stored and never produces (or charges) it again.
 */
export interface PortraitOutput {
  kind: 'portrait';
  slot: number;
  image: StoredImage;
  /** Issue 22: what produced the portrait; absent on steps recorded before it. */
  params?: JobParams;
}

export interface SceneOutput {
  kind: 'scene';
  index: number;
  image: StoredImage;
  /** Issue 22: what produced the scene; absent on steps recorded before it. */
  params?: JobParams;
}

/** A character reference in the result: a generated portrait (blob key) or the client's URL. */
export interface StoredRef {
  name: string;
  character: string;
  state?: string;
  png_key?: string;
  client_url?: string;
  /** A generated portrait's params (issue 22). */
  params?: JobParams;
}

export interface StoredStoryResult {
  kind: 'story';
  model: string;
  scenes: { prompt: string; image: StoredImage; params?: JobParams }[];
  refs: StoredRef[];
  cost_micros: number;
  balance_after_micros: number;
}

export const storyStep = {
  portrait: (slot: number) => ({ step: `portrait-${slot}`, ordinal: slot }),
  // Scenes sort after every portrait (a story has at most 60 references).
  scene: (index: number) => ({ step: `scene-${index}`, ordinal: 1000 + index }),
};

export const storyKeys = {
  raw: (jobId: string, step: string) => `jobs/${jobId}/story/raw/${step}`,
  // Issue 22: what the step's provider call was sent and reported, kept before its raw output so a
  // resumed run records what the first one sent. Its own folder: raw/ holds only raw outputs.
  params: (jobId: string, step: string) => `jobs/${jobId}/story/params/${step}.json`,
  // Per run (the job's attempt): a run that lost its claim can never replace the files another run recorded.
  image: (jobId: string, step: string, attempt: number) => `jobs/${jobId}/story/run-${attempt}/${step}`,
  clientRef: (jobId: string, what: string) => `jobs/${jobId}/story/client/${what}`,
};
