/**
 * Every prompt template Easel wraps around a client's prompt, in one place so they can be read
 * and tuned together. The client's text goes in unchanged; `raw_prompt: true` on a request skips
 * the wrapping and sends the prompt exactly as written (story scenes have their own
 * `raw_prompts`, see src/story/).
 *
 * Templates steer vendor models towards what the endpoint is for: photographs and art for
 * images, flat clean-edged artwork for graphics, legible structured drawings for diagrams. The
 * offline renderer draws from the client's own prompt and the structured fields (style,
 * diagram type, transparency), so it is unaffected by the wording here.
 */

import type { ContentKind, DiagramType } from '../contract/content-kinds.js';

/** How each diagram type should be drawn, in words a model follows. */
const DIAGRAM_STYLE: Record<DiagramType, string> = {
  flowchart: 'a flowchart: process steps as rounded boxes, decisions as diamonds, arrows showing the flow from start to end',
  sequence: 'a UML sequence diagram: participants as boxes along the top with vertical lifelines, messages as labelled horizontal arrows in time order',
  architecture: 'a software architecture diagram: components and services as labelled boxes grouped into layers or zones, connections as arrows',
  mindmap: 'a mind map: the central idea in the middle, main branches radiating outwards, sub-topics on smaller branches',
  er: 'an entity-relationship diagram: entities as boxes listing their attributes, relationships as lines with cardinality marks',
  class: 'a UML class diagram: classes as three-part boxes (name, attributes, methods), inheritance and association arrows',
  timeline: 'a timeline: a horizontal axis with dated milestones in order, each with a short label',
  'org-chart': 'an organisation chart: a top-down hierarchy of roles as boxes joined by orthogonal connector lines',
};

export interface TemplateOptions {
  raw_prompt?: boolean;
  transparent_background?: boolean;
  diagram_type?: DiagramType;
}

const transparency = (o: TemplateOptions) =>
  o.transparent_background ? ' Transparent background (alpha channel), no backdrop, no shadow on the ground.' : ' Plain solid background.';

/** `POST /v1/generate/{kind}`. */
export function generatePrompt(kind: ContentKind, prompt: string, o: TemplateOptions = {}): string {
  if (o.raw_prompt) return prompt;
  switch (kind) {
    case 'image':
      return `${prompt}\n\nA finished, high-quality image: coherent composition, natural detail and consistent light.`;
    case 'graphic':
      return (
        `A clean graphic (icon, logo or UI element): ${prompt}\n\n` +
        'Flat vector style, crisp clean edges, a small palette of solid colours, simple geometric shapes, centred with even padding, ' +
        `no photographic texture, no gradients unless asked, no text unless asked.${transparency(o)}`
      );
    case 'diagram':
      return (
        `Draw ${DIAGRAM_STYLE[o.diagram_type ?? 'flowchart']}.\n\nContent: ${prompt}\n\n` +
        'Clean and legible: white background, thin dark lines, consistent box sizes and spacing, short readable labels, ' +
        'no decoration, no perspective, no shading.'
      );
  }
}

/** `POST /v1/edit/{kind}`: the prompt is the instruction applied to the input image. */
export function editPrompt(kind: ContentKind, instruction: string, o: TemplateOptions = {}): string {
  if (o.raw_prompt) return instruction;
  switch (kind) {
    case 'image':
      return `Edit the given image: ${instruction}\n\nChange only what the instruction asks; keep the composition, subjects, lighting and style otherwise unchanged.`;
    case 'graphic':
      return (
        `Edit the given graphic: ${instruction}\n\n` +
        `Keep its flat style, clean edges, proportions and palette except where the instruction changes them.${o.transparent_background ? transparency(o) : ''}`
      );
    case 'diagram':
      return (
        `Edit the given diagram${o.diagram_type ? ` (${o.diagram_type})` : ''}: ${instruction}\n\n` +
        'Keep every other node, label and connection where it is; keep the diagram clean and legible on a white background.'
      );
  }
}

/** `POST /v1/combine/{kind}`: the prompt describes how the input images are arranged. */
export function combinePrompt(kind: ContentKind, arrangement: string, count: number, o: TemplateOptions = {}): string {
  if (o.raw_prompt) return arrangement;
  switch (kind) {
    case 'image':
      return `Combine the ${count} given images into one coherent image: ${arrangement}\n\nBlend them with consistent light, perspective and style.`;
    case 'graphic':
      return (
        `Combine the ${count} given graphics into one clean graphic: ${arrangement}\n\n` +
        `Unify them in one flat style with clean edges and a shared small palette.${transparency(o)}`
      );
    case 'diagram':
      return (
        `Merge the ${count} given diagram sections into one diagram${o.diagram_type ? ` (${o.diagram_type})` : ''}: ${arrangement}\n\n` +
        'Connect the sections where they meet, remove duplicated nodes, keep it clean and legible on a white background.'
      );
  }
}
