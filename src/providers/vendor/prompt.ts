import type { GenerateInput, InputImage } from '../port.js';

/**
 * The text a vendor model gets for one request, and the reference images that go with it, in the
 * order the text numbers them. `leadImages` is how many images come before the references in the
 * same request (the image to edit, or the images to combine): references are numbered after them.
 *
 * References are `input.references` then each figure's reference; figures without a reference are
 * described in words only.
 */
export function composePrompt(input: GenerateInput, leadImages = 0): { text: string; references: InputImage[] } {
  const references: InputImage[] = [];
  const lines: string[] = [input.prompt.trim()];
  if (input.portrait) lines.push('', 'Show only this one character, as large as the frame allows, on a plain background.');

  const refLabels: string[] = [];
  for (const r of input.references) {
    references.push(r);
    refLabels.push(`image ${leadImages + references.length}${r.description ? ` (${r.description})` : ''}`);
  }
  const figures = input.figures ?? [];
  if (figures.length > 0) {
    lines.push('', 'Characters (keep each one looking exactly as described):');
    for (const f of figures) {
      let ref = '';
      if (f.reference) {
        references.push(f.reference);
        ref = ` (reference: image ${leadImages + references.length})`;
      }
      lines.push(`- ${f.key}: ${f.appearance}${ref}`);
    }
  }
  if (leadImages > 0 && references.length > 0) {
    lines.push('', leadImages === 1 ? 'Image 1 is the image to work on.' : `Images 1–${leadImages} are the images to work on.`);
  }
  if (refLabels.length > 0) lines.push('', `Reference images: ${refLabels.join(', ')}.`);
  return { text: lines.join('\n'), references };
}

/** Distance between two aspect ratios on a log scale (so 2:1 and 1:2 are equally far from 1:1). */
export function aspectDistance(w1: number, h1: number, w2: number, h2: number): number {
  return Math.abs(Math.log(w1 / h1) - Math.log(w2 / h2));
}
