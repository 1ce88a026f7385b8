import { EaselError } from '../../errors.js';

/** 422 unless the model offers the requested named size; every image-producing create checks it before the hold. */
export function checkImageSize(model: { id: string; imageSizes: readonly string[] }, size: string): void {
  if (!model.imageSizes.includes(size)) {
    throw new EaselError(422, 'validation_failed', `Model "${model.id}" does not offer image_size ${size}.`, {
      fields: [{ path: 'image_size', message: `must be one of ${model.imageSizes.join(', ')}` }],
    });
  }
}
