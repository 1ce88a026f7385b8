import type { Static } from 'typebox';
import type { Services } from '../../app.js';
import type { GenerateImageBody } from '../../contract/generation.js';
import type { GenerateDiagramBody, GenerateGraphicBody } from '../../contract/content.js';
import type { ImageRequest } from '../../pipelines/image.js';
import { preparedImage, type CreateContext, type PreparedSubmit } from './context.js';
import { createExtras } from '../create-extras.js';
import { checkPrompt } from './check-prompt.js';
import { checkImageSize } from './check-image-size.js';

export type GenerationOperation = 'image' | 'graphic' | 'diagram';
type GenerationBody = Static<typeof GenerateImageBody> & Partial<Pick<Static<typeof GenerateGraphicBody>, 'transparent_background'> & Pick<Static<typeof GenerateDiagramBody>, 'type'>>;

/** What a kind adds to the image request: a graphic's transparent background, a diagram's type. */
function kindFields(operation: GenerationOperation, body: GenerationBody): Partial<ImageRequest> {
  if (operation === 'graphic') return body.transparent_background ? { transparent_background: true } : {};
  if (operation === 'diagram') return { diagram_type: body.type ?? 'flowchart' };
  return {};
}

/**
 * The generate contract shared by image, graphic and diagram, up to the submit: moderation
 * (nothing charged on a refusal), the model for the operation and its size check; the price is
 * the model's.
 */
export async function prepareGeneration(s: Services, ctx: CreateContext, body: GenerationBody, operation: GenerationOperation): Promise<PreparedSubmit> {
  const extras = await createExtras(s, ctx, body);
  checkPrompt(s, body.prompt, body.strictness ?? ctx.auth.strictness);
  const model = s.catalogue.resolve(body.model, operation);
  const request: ImageRequest = {
    prompt: body.prompt,
    model: model.id,
    aspect_ratio: body.aspect_ratio ?? '1:1',
    image_size: body.image_size ?? '1K',
    ...kindFields(operation, body),
    ...(body.seed !== undefined ? { seed: body.seed } : {}),
    ...(body.reference_images ? { reference_images: body.reference_images } : {}),
    ...(body.raw_prompt ? { raw_prompt: true } : {}),
  };
  checkImageSize(model, request.image_size);
  return preparedImage(ctx, extras, body, s.catalogue, { operation, model, request });
}
