/* How the adapters put input and reference images into a vendor request. */
import type { GenerateInput, InputImage } from '../port.js';
import { toVendorInput } from './image-bytes.js';
import { composePrompt } from './prompt.js';

/** An input image as a data URI (PNG/JPEG/WebP as they are, other formats re-encoded to PNG). */
export async function dataUri(img: InputImage): Promise<string> {
  const v = await toVendorInput(img);
  return `data:${v.mime};base64,${v.bytes.toString('base64')}`;
}

/** An input image as bare base64 (BFL), normalised like dataUri. */
export async function base64Image(img: InputImage): Promise<string> {
  return (await toVendorInput(img)).bytes.toString('base64');
}

/**
 * The prompt text and the images one request sends: `lead` (the image to edit, the images to
 * combine) followed by the reference images (input.references, then each figure's reference),
 * numbered in the text by composePrompt. When the model cannot take that many images the
 * references are left out and the figures are described in words only.
 */
export function requestImages(input: GenerateInput, lead: InputImage[], maxImages: number): { text: string; images: InputImage[] } {
  const full = composePrompt(input, lead.length);
  if (full.references.length === 0 || lead.length + full.references.length <= maxImages) return { text: full.text, images: [...lead, ...full.references] };
  const words = composePrompt({ ...input, references: [], figures: input.figures?.map((f) => ({ key: f.key, appearance: f.appearance })) }, lead.length);
  return { text: words.text, images: lead };
}

/** Whether a generate request carries reference images (its own or its figures'). */
export function hasReferences(input: GenerateInput): boolean {
  return input.references.length > 0 || (input.figures ?? []).some((f) => f.reference !== undefined);
}
