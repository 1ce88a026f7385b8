import { BLOB_KEY_RE } from '../blob/port.js';
import { ownedInputKeys } from '../jobs/input-blobs.js';

/**
 * The blobs a job's rows point at: every `key` / `*_key` string naming a stored blob in its result
 * (`result_json`: formats, story scenes, portraits' `png_key`), in its durable steps
 * (`job_steps.output_json`) and the input files stored for it (`request_json` inputs[].blob_key,
 * mask.blob_key, src/jobs/input-blobs.ts). Read by walking the JSON rather than by knowing each
 * result kind, so a new kind's keys are found too. The live preview (progress_json) is left out on
 * purpose: it is a running attempt's scratch file, replaced on every frame and deleted at the end.
 */
export function jobBlobKeys(job: { request_json: unknown; result_json: unknown }, stepOutputs: readonly unknown[]): string[] {
  const keys = new Set<string>(typeof job.request_json === 'string' ? ownedInputKeys(job.request_json) : []);
  for (const text of [job.result_json, ...stepOutputs]) {
    if (typeof text !== 'string') continue;
    try {
      collect(JSON.parse(text), keys);
    } catch {
      // A row that is not JSON names no blob.
    }
  }
  return [...keys].sort();
}

function collect(v: unknown, out: Set<string>, name = ''): void {
  if (typeof v === 'string') {
    if ((name === 'key' || name.endsWith('_key')) && isStoredKey(v)) out.add(v);
  } else if (Array.isArray(v)) {
    for (const x of v) collect(x, out, name);
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) collect(x, out, k);
  }
}

/** Easel's own blob folders: a job's (`jobs/<id>/…`) and uploads (`uploads/<account>/…`). */
function isStoredKey(v: string): boolean {
  return (v.startsWith('jobs/') || v.startsWith('uploads/')) && BLOB_KEY_RE.test(v) && !v.includes('..');
}
