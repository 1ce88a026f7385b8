import sharp from 'sharp';
import type { Pipeline } from '../context.js';
import { JobFailure } from '../../errors.js';
import { sha256Hex } from '../../imaging/hash.js';
import { EXT_OF, MIME_OF } from '../../contract/image-formats.js';
import { readProvenanceFacts } from '../../imaging/provenance-carry.js';
import { PROCESS_OPS, operationOf, type OpContext, type ProcessFn, type ProcessOp, type ProcessRequest, type StoredProcessResult } from './types.js';
import { decodeInput, sameFormatAs } from './decode.js';
import { encodeImage } from './encode.js';
import { signProcessed } from './sign-output.js';
import { crop, flip, resize, rotate, trim } from './geometry.js';
import { adjust } from './tone.js';
import { overlay } from './overlay.js';
import { convert, metadataStrip, optimize } from './formats.js';
import { removeBackground } from './remove-background.js';
import { dependencyFault } from '../../util/dependency-fault.js';

const OPS: Record<ProcessOp, ProcessFn> = {
  crop,
  resize,
  rotate,
  flip,
  trim,
  adjust,
  overlay,
  'metadata-strip': metadataStrip,
  convert,
  optimize,
  'remove-background': removeBackground,
};

/**
 * Free processing: fetch the input (our own signed URLs straight from storage), decode it once,
 * run the operation, store the one output and complete with nothing captured (the hold is 0).
 * The output key is deterministic, so a retried attempt overwrites rather than leaving orphans.
 */
export const processPipeline: Pipeline = async (deps, { job, fence, signal }) => {
  const req = JSON.parse(job.request_json) as ProcessRequest;
  const fn = OPS[req.op];
  if (!fn) throw new JobFailure('internal_error', `unknown processing operation ${String(req.op)}`, false);
  const inputBytes = await deps.inputs.fetch(req.input_image_url, 'input_image_url', signal);
  const input = await decodeInput(inputBytes, 'input_image_url');
  const ctx: OpContext = {
    deps,
    signal,
    strictness: req.strictness,
    params: req.params,
    inputBytes,
    input,
    sameFormat: sameFormatAs(input.format),
    provenance: await readProvenanceFacts(inputBytes),
    ingredients: [],
    pixels: () => sharp(input.data, { raw: { width: input.width, height: input.height, channels: input.channels } }),
    encode: (img, format, options, policy) => encodeImage(img, format, options, { provenance: ctx.provenance, operation: req.op, keepIcc: policy?.keepIcc }),
  };
  let out;
  try {
    out = await fn(ctx);
  } catch (e) {
    // A dependency that was down (an overlay read from storage) is not the image's fault: the job runs again.
    if (e instanceof JobFailure || signal.aborted || dependencyFault(e)) throw e;
    // The operation is deterministic: a libvips failure would fail every retry the same way.
    throw new JobFailure('internal_error', `The image could not be processed (${String((e as Error).message ?? e).slice(0, 200)}).`, false);
  }
  // Outside the operation's error mapping: a signing failure is not a property of the image.
  out = await signProcessed(req.op, ctx, out, `Processed by Easel: ${req.op}.`);
  // Per run: a run that lost its claim can never replace the file another run recorded.
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
