import { webhookFields } from './webhook-events.js';
import { Type } from 'typebox';
import { jobOptionFields } from './job-options.js';
import { AspectRatio, ImageSize, ReferenceImage, Strictness } from './generation.js';
import { DIAGRAM_TYPES } from './content-kinds.js';
import { absentIfNull } from './common.js';

/**
 * Request bodies of the graphic and diagram generators and of edit and combine. They share the
 * generate-image fields; each adds only its own. JSON bodies are validated by these schemas;
 * multipart bodies (edit, combine) are turned into the same objects and validated by the same
 * schemas, so both forms accept and refuse exactly the same values.
 */

/** An input image: https, one of our signed /files/ URLs, or (test mode only) loopback http. Checked again by the route. */
export const InputUrl = Type.String({ format: 'uri', maxLength: 4096, description: 'HTTPS URL of a PNG, JPEG or WebP (or a signed URL of ours, e.g. from POST /v1/upload or an earlier result).' });

export const RawPrompt = Type.Boolean({
  description: 'Easel: send the prompt exactly as written. By default each endpoint wraps the prompt in its own template (src/pipelines/templates.ts) tuned for its content type.',
});
export const TransparentBackground = Type.Boolean({
  description: 'Easel, graphics: an output with an alpha channel and transparent surroundings (PNG and WebP keep it; JPEG has no alpha and is flattened on white).',
});
export const DiagramTypeField = Type.Enum([...DIAGRAM_TYPES], {
  description: 'Diagram type (Depicta documents only the CLI flag `--type`; Easel names the JSON field `type`). Default flowchart.',
});

const shared = {
  prompt: Type.String({ minLength: 1, maxLength: 4000 }),
  // null = absent on the generation options, as generate-image takes them (the Depicta reference types them null | string).
  model: absentIfNull(Type.String({ minLength: 1, maxLength: 200 })),
  aspect_ratio: absentIfNull(AspectRatio),
  image_size: absentIfNull(ImageSize),
  reference_images: Type.Optional(Type.Array(ReferenceImage, { maxItems: 5 })),
  strictness: absentIfNull(Strictness),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Easel: fixes the seed; same inputs and seed give the same image.' })),
  raw_prompt: Type.Optional(RawPrompt),
  ...webhookFields,
  ...jobOptionFields,
};

const graphicExtra = { transparent_background: Type.Optional(TransparentBackground) };
const diagramExtra = { type: Type.Optional(DiagramTypeField) };

export const GenerateGraphicBody = Type.Object({ ...shared, ...graphicExtra }, { additionalProperties: false });
export const GenerateDiagramBody = Type.Object({ ...shared, ...diagramExtra }, { additionalProperties: false });

export type EditKind = 'image' | 'graphic' | 'diagram';

const kindExtra = (kind: EditKind) => (kind === 'graphic' ? graphicExtra : kind === 'diagram' ? diagramExtra : {});

const editPrompt = { prompt: Type.String({ minLength: 1, maxLength: 4000, description: 'The edit instruction ("make it warmer", "add a hat", "add a step after login").' }) };
const combinePrompt = { prompt: Type.String({ minLength: 1, maxLength: 4000, description: 'How to arrange or merge the inputs ("side by side", "the logo on the shirt").' }) };

/** Edit, JSON: the input is `image_url`. */
export const editJsonBody = (kind: EditKind) =>
  Type.Object({ image_url: InputUrl, ...shared, ...editPrompt, ...kindExtra(kind) }, { additionalProperties: false });

/** Edit, multipart: the same fields as form fields (`reference_images` as a JSON string), the input as the file `image`. */
export const editFormFields = (kind: EditKind) => Type.Object({ ...shared, ...editPrompt, ...kindExtra(kind) }, { additionalProperties: false });

export const combineJsonBody = (kind: EditKind) =>
  Type.Object(
    {
      input_image_urls: Type.Array(InputUrl, { minItems: 2, maxItems: 5, description: '2 to 5 input images, in the order they are arranged. A model may take fewer (max_combine_inputs in /v1/models).' }),
      ...shared,
      ...combinePrompt,
      ...kindExtra(kind),
    },
    { additionalProperties: false },
  );

export const combineFormFields = (kind: EditKind) => Type.Object({ ...shared, ...combinePrompt, ...kindExtra(kind) }, { additionalProperties: false });

const binary = (description: string) => Type.String({ format: 'binary', description });

/** OpenAPI only: how the multipart forms look (files as binary strings, other fields as text). */
export const editMultipartDoc = (kind: EditKind) =>
  Type.Object(
    { image: binary('The image to edit (PNG, JPEG or WebP, ≤ 20 MB).'), ...formDoc(editFormFields(kind)) },
    { description: 'multipart/form-data: the file `image` plus the JSON body fields as form fields; reference_images as a JSON string.' },
  );

export const combineMultipartDoc = (kind: EditKind) =>
  Type.Object(
    { images: Type.Array(binary('An input image (PNG, JPEG or WebP, ≤ 20 MB).'), { minItems: 2, maxItems: 5 }), ...formDoc(combineFormFields(kind)) },
    { description: 'multipart/form-data: the file field `images` repeated 2–5 times, in order, plus the JSON body fields as form fields; reference_images as a JSON string.' },
  );

function formDoc(fields: { properties: Record<string, unknown>; required?: string[] }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields.properties)) out[k] = v;
  return out;
}
