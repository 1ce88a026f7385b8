import type { Pipeline } from '../context.js';
import { JobFailure } from '../../errors.js';
import { sha256Hex } from '../../imaging/hash.js';
import { EXT_OF, MIME_OF } from '../../contract/image-formats.js';
import { PROCESS_OPS, operationOf, type ProcessRequest, type StoredProcessResult } from './types.js';
import { EXTRA_INPUT_FIELDS, runOperation, type OperationInput } from './run-operation.js';
import { checkPixelBudgets } from './budgets.js';

/**
 * Free processing: fetch the inputs (our own signed URLs straight from storage), refuse what is over
 * the operation's pixel budgets from the header alone, run the operation in a processing child
 * (`deps.imageWork`, under its time and memory budgets; in this process when there is none: the
 * job core's own tests), store the one output and complete with nothing captured (the hold is 0).
 * The output key is per run, so a run that lost its claim never replaces another run's file.
 */
export const processPipeline: Pipeline = async (deps, { job, fence, signal }) => {
  const req = JSON.parse(job.request_json) as ProcessRequest;
  if (!PROCESS_OPS.includes(req.op)) throw new JobFailure('internal_error', `unknown processing operation ${String(req.op)}`, false);
  const inputs: Record<string, Buffer> = { input_image_url: await deps.inputs.fetch(req.input_image_url, 'input_image_url', signal) };
  if (deps.imageWork) await checkPixelBudgets(req.op, req.params, inputs.input_image_url!, deps.imageWork.budgets);
  for (const field of EXTRA_INPUT_FIELDS) {
    const url = req.params[field];
    if (typeof url === 'string') inputs[field] = await deps.inputs.fetch(url, field, signal);
  }
  const operation: OperationInput = { op: req.op, params: req.params, strictness: req.strictness, inputs };
  const out = deps.imageWork ? await deps.imageWork.pool.run(operation, signal) : await runOperation(operation, deps.moderator, signal);
  const key = `jobs/${job.id}/process/run-${Number(job.attempts)}/output.${EXT_OF[out.format]}`;
  const mime = MIME_OF[out.format]!;
  await deps.jobs.assertOwned(fence);
  await deps.blob.put(key, out.bytes, mime);
  await deps.jobs.complete(fence, 0, (): StoredProcessResult => ({
    kind: 'process',
    operation: req.op,
    key,
    mime,
    size_bytes: out.bytes.length,
    hash: sha256Hex(out.bytes),
    width: out.width,
    height: out.height,
  }));
};

/** One registry entry per operation name (`process_crop`, …), all served by the one pipeline. */
export const PROCESS_PIPELINES: Record<string, Pipeline> = Object.fromEntries(PROCESS_OPS.map((op) => [operationOf(op), processPipeline]));
