/**
 * The stored input files a job owns: the files sent with a multipart edit/combine request (and the
 * OpenAI edits route) are stored for that one job (`inputs[].blob_key`, `mask.blob_key` in its
 * request). Nothing else refers to them, so they live exactly as long as the job's own files and
 * the retention sweeper deletes them with those. Input URLs (an upload's signed URL included) are
 * not owned: an upload has its own retention.
 */
export function ownedInputKeys(requestJson: string): string[] {
  let req: { inputs?: unknown; mask?: unknown };
  try {
    req = JSON.parse(requestJson) as typeof req;
  } catch {
    return [];
  }
  const refs = [...(Array.isArray(req.inputs) ? req.inputs : []), req.mask];
  const keys: string[] = [];
  for (const r of refs) {
    const key = (r as { blob_key?: unknown } | null | undefined)?.blob_key;
    if (typeof key === 'string') keys.push(key);
  }
  return keys;
}
