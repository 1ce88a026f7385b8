import sharp from 'sharp';
import type { ProviderOutput } from '../providers/port.js';

/** An exact pixel size a request asked for (the OpenAI-compatible `size`), beside its ratio and named size. */
export interface PixelSize {
  width: number;
  height: number;
}

/**
 * A model's output at exactly the size asked for: unchanged when it already is, else scaled to
 * cover the size and centre-cropped (a vendor that rounds sizes its own way still answers the
 * size the client named).
 */
export async function fitToSize(out: ProviderOutput, size: PixelSize): Promise<ProviderOutput> {
  const meta = await sharp(out.bytes).metadata();
  if (meta.width === size.width && meta.height === size.height) return out;
  const bytes = await sharp(out.bytes).resize(size.width, size.height, { fit: 'cover', position: 'centre' }).png().toBuffer();
  return { bytes, mime: 'image/png' };
}

/**
 * OpenAI's edit mask: where the mask is fully transparent the edit shows; everywhere else the
 * input is kept. The input and the mask are scaled to the edited image's size, the input is cut to
 * the mask's opaque pixels and laid over the edit.
 */
export async function applyEditMask(edited: ProviderOutput, input: Buffer, mask: Buffer): Promise<ProviderOutput> {
  const meta = await sharp(edited.bytes).metadata();
  const width = meta.width!;
  const height = meta.height!;
  const maskFitted = await sharp(mask).resize(width, height, { fit: 'fill' }).ensureAlpha().png().toBuffer();
  // dest-in: the input survives only where the mask is opaque.
  const inputFitted = await sharp(input).resize(width, height, { fit: 'fill' }).ensureAlpha().png().toBuffer();
  const kept = await sharp(inputFitted).composite([{ input: maskFitted, blend: 'dest-in' }]).png().toBuffer();
  const bytes = await sharp(edited.bytes).composite([{ input: kept, blend: 'over' }]).png().toBuffer();
  return { bytes, mime: 'image/png' };
}
