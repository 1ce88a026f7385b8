import type { Services } from '../../app.js';
import { preparedImage, type CreateContext, type PreparedSubmit } from './context.js';
import type { EditKind } from '../../contract/content.js';
import type { EditCombineRequest } from '../../pipelines/edit-combine.js';
import type { DiagramType } from '../../contract/content-kinds.js';
import type { AspectRatio, ImageSize } from '../../contract/dimensions.js';
import { validationFailed } from '../../errors.js';
import { checkInputUrls } from '../input-url.js';
import { checkPrompt } from './check-prompt.js';
import { checkImageSize } from './check-image-size.js';
import { createExtras } from '../create-extras.js';

export interface EditCombineInput {
  mode: 'edit' | 'combine';
  kind: EditKind;
  /** The JSON body, or a multipart body's fields (validated by the same schema). */
  body: Record<string, unknown>;
  /** Multipart: the input files, in order (already counted by the route). JSON: null, the inputs are URLs in `body`. */
  files: readonly Buffer[] | null;
}

export type PreparedEditCombine = PreparedSubmit & { request: EditCombineRequest };

/** The JSON form's input URLs with the field each came from. */
function inputUrls(r: EditCombineInput): { field: string; url: string }[] {
  if (r.mode === 'edit') return [{ field: 'image_url', url: r.body.image_url as string }];
  return (r.body.input_image_urls as string[]).map((url, i) => ({ field: `input_image_urls[${i}]`, url }));
}

/**
 * Edit and combine up to the submit: input URLs, moderation, the model's capability and limits,
 * all before anything is stored or charged; the price is the model's. The request's `inputs` are
 * the URLs of the JSON form; a multipart form's files become inputs once the route has stored them.
 */
export async function prepareEditCombine(s: Services, ctx: CreateContext, r: EditCombineInput): Promise<PreparedEditCombine> {
  const { body } = r;
  const urls = r.files ? [] : inputUrls(r);
  checkInputUrls(s, Object.fromEntries(urls.map((u) => [u.field, u.url])), urls.map((u) => u.field));
  const operation = `${r.mode}_${r.kind}`;
  // Before moderation, uploads or any charge: a malformed Idempotency-Key or webhook_url is refused first.
  const extras = await createExtras(s, ctx, body, r.files ?? []);
  const strictness = (body.strictness as 'normal' | 'liberal' | null | undefined) ?? ctx.auth.strictness;
  checkPrompt(s, body.prompt as string, strictness);
  const model = s.catalogue.resolve(body.model as string | null | undefined, operation);
  const count = r.files ? r.files.length : urls.length;
  if (r.mode === 'combine' && model.maxCombineInputs > 0 && count > model.maxCombineInputs) {
    const path = r.files ? 'images' : 'input_image_urls';
    throw validationFailed(`Model "${model.id}" combines at most ${model.maxCombineInputs} images; ${path} has ${count}.`, {
      fields: [{ path, message: `model "${model.id}" takes at most ${model.maxCombineInputs} inputs` }],
      model: model.id,
      max_combine_inputs: model.maxCombineInputs,
    });
  }
  const imageSize = (body.image_size as ImageSize | null | undefined) ?? '1K';
  checkImageSize(model, imageSize);

  const request: EditCombineRequest = {
    mode: r.mode,
    kind: r.kind,
    prompt: body.prompt as string,
    model: model.id,
    aspect_ratio: (body.aspect_ratio as AspectRatio | null | undefined) ?? null,
    image_size: imageSize,
    strictness,
    inputs: urls,
    ...(body.seed !== undefined ? { seed: body.seed as number } : {}),
    ...(body.reference_images ? { reference_images: body.reference_images as { url: string; description: string }[] } : {}),
    ...(body.raw_prompt ? { raw_prompt: true } : {}),
    ...(body.transparent_background ? { transparent_background: true } : {}),
    ...(body.type ? { diagram_type: body.type as DiagramType } : {}),
  };
  return preparedImage(ctx, extras, body, s.catalogue, { operation, model, request });
}
