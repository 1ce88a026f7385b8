import sharp from 'sharp';
import { JobFailure } from '../../errors.js';
import { readProvenanceFacts } from '../../imaging/provenance-carry.js';
import type { Strictness } from '../../moderation/moderator.js';
import type { Encoded, OpContext, OpDeps, ProcessFn, ProcessOp } from './types.js';
import { decodeInput, sameFormatAs } from './decode.js';
import { encodeImage } from './encode.js';
import { signProcessed } from './sign-output.js';
import { crop, flip, resize, rotate, trim } from './geometry.js';
import { adjust } from './tone.js';
import { overlay } from './overlay.js';
import { convert, metadataStrip, optimize } from './formats.js';
import { removeBackground } from './remove-background.js';

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

/** Every URL field an operation reads, besides input_image_url: fetched by the worker before the operation runs. */
export const EXTRA_INPUT_FIELDS = ['overlay_image_url'] as const;

export interface OperationInput {
  op: ProcessOp;
  params: Record<string, unknown>;
  strictness: Strictness;
  /** input_image_url's bytes, and those of any other URL field (EXTRA_INPUT_FIELDS), by field name. */
  inputs: Record<string, Buffer>;
}

/**
 * The CPU- and memory-heavy part of a processing job, with no store or queue: decode the input
 * once, run the operation, encode, sign. It runs in a processing child (child-main.ts), apart from
 * the request path and the paid workers; everything it needs arrives as bytes.
 */
export async function runOperation(req: OperationInput, moderator: OpDeps['moderator'], signal: AbortSignal): Promise<Encoded> {
  const fn = OPS[req.op];
  if (!fn) throw new JobFailure('internal_error', `unknown processing operation ${String(req.op)}`, false);
  const inputBytes = req.inputs.input_image_url!;
  const input = await decodeInput(inputBytes, 'input_image_url');
  const deps: OpDeps = {
    moderator,
    inputs: {
      fetch: async (_url, what) => {
        const bytes = req.inputs[what];
        if (!bytes) throw new JobFailure('internal_error', `${what} was not fetched before the operation`, false);
        return bytes;
      },
    },
  };
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
    if (e instanceof JobFailure || signal.aborted) throw e;
    // The operation is deterministic: a libvips failure would fail every retry the same way.
    throw new JobFailure('internal_error', `The image could not be processed (${String((e as Error).message ?? e).slice(0, 200)}).`, false);
  }
  // Outside the operation's error mapping: a signing failure is not a property of the image.
  return signProcessed(req.op, ctx, out, `Processed by Easel: ${req.op}.`);
}
