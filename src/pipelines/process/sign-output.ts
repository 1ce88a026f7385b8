import { VERSION, c2paSigner } from '../../imaging/signing.js';
import { C2PA_MIME } from '../../imaging/c2pa/sign.js';
import type { OutputFormat } from '../../imaging/encode.js';
import type { Encoded, OpContext, ProcessOp } from './types.js';
import { MIME_OF } from '../../contract/image-formats.js';

/**
 * The C2PA action each re-signed operation is (C2PA 2.1 action vocabulary). Two are absent on
 * purpose, and their outputs keep the XMP marking only. optimize: a caller's target size
 * (target_bytes) would be broken by the manifest (its signature alone reserves 12 KB).
 * metadata-strip: the caller asked for the least metadata; the provenance XMP is all it keeps.
 */
const ACTION: Partial<Record<ProcessOp, string>> = {
  crop: 'c2pa.cropped',
  trim: 'c2pa.cropped',
  resize: 'c2pa.resized',
  rotate: 'c2pa.orientation',
  flip: 'c2pa.orientation',
  adjust: 'c2pa.color_adjustments',
  overlay: 'c2pa.placed',
  convert: 'c2pa.transcoded',
  'remove-background': 'c2pa.edited',
};

/**
 * Content Credentials for a processed image whose input carried AI provenance: a manifest that opens
 * the input as its parent ingredient (so the input's own manifest, saying how it was made, stays in
 * the chain) and records this step as a non-generative action. An input without provenance gets none
 * added, as with the XMP marking. AVIF is not signed (the C2PA library here writes PNG, JPEG, WebP).
 */
export async function signProcessed(op: ProcessOp, ctx: OpContext, out: Encoded, description: string): Promise<Encoded> {
  const signer = c2paSigner();
  const action = ACTION[op];
  if (!signer || !ctx.provenance || !action || !(out.format in C2PA_MIME)) return out;
  const format = out.format as OutputFormat;
  const bytes = await signer.sign(out.bytes, format, {
    generator: 'Easel',
    generatorVersion: VERSION,
    model: ctx.provenance.aiSystemUsed ?? 'none',
    action: 'processed',
    createdAt: new Date(),
    ingredients: [{ bytes: ctx.inputBytes, mime: MIME_OF[ctx.input.format] ?? 'image/png', title: 'input_image_url' }, ...ctx.ingredients],
    processing: { action, operation: op, description },
  });
  return { ...out, bytes };
}
