import type { Catalogue, ModelEntry } from '../../providers/catalogue.js';
import { EaselError, badRequest } from '../../errors.js';
import { ASPECT_RATIOS, IMAGE_SIZES, type AspectRatio, type ImageSize } from '../../contract/dimensions.js';
import { OPENAI_LISTED_SIZES, OPENAI_MODEL_NAMES } from '../../contract/openai-images.js';
import { dimensionsFor } from '../../jobs/sizes.js';
import { nearestRatio } from '../../pipelines/edit-combine.js';
import type { PixelSize } from '../../pipelines/fit-size.js';

const LONG_SIDE: Record<ImageSize, number> = { '1K': 1024, '2K': 2048, '4K': 4096 };

/**
 * `model` of an OpenAI request: a catalogue id or alias as anywhere else; one of OpenAI's own model
 * names that the catalogue does not list as an alias means the catalogue's default model for the
 * operation (so `gpt-image-1` works out of the box and an operator can point it anywhere by
 * adding it to a model's `aliases`).
 */
export function resolveOpenAIModel(catalogue: Catalogue, requested: string | undefined, operation: string): ModelEntry {
  try {
    return catalogue.resolve(requested, operation);
  } catch (e) {
    const openaiName = requested !== undefined && (OPENAI_MODEL_NAMES as readonly string[]).includes(requested.toLowerCase());
    if (openaiName && e instanceof EaselError && e.code === 'model_not_found') return catalogue.resolve(undefined, operation);
    if (e instanceof EaselError && (e.code === 'model_not_found' || e.code === 'model_not_capable')) {
      throw new EaselError(400, e.code, e.message, { ...(e.details ?? {}), field: 'model' });
    }
    throw e;
  }
}

/** The sizes a model answers on these routes: OpenAI's list and every ratio × named size the model offers. */
export function sizesFor(model: ModelEntry): string[] {
  const ratios = model.aspectRatios.filter((r): r is AspectRatio => (ASPECT_RATIOS as readonly string[]).includes(r));
  const own = ratios.flatMap((r) => model.imageSizes.map((s) => dimensionsFor(r, s))).map((d) => `${d.width}x${d.height}`);
  return [...new Set([...OPENAI_LISTED_SIZES, ...own])];
}

export interface MappedSize {
  /** null: an edit that follows its input's shape. */
  aspect_ratio: AspectRatio | null;
  image_size: ImageSize;
  pixel_size?: PixelSize;
  /** What the response's `size` says. */
  label: string;
}

/**
 * OpenAI's `size` as Easel's request: the nearest ratio the model offers, the smallest named size
 * that covers the long side (the price and capability checks use these), and the exact pixel size
 * the output is fitted to. `auto`: 1024x1024, or for an edit the input's shape at 1K.
 */
export function mapOpenAISize(model: ModelEntry, size: string | undefined, mode: 'generate' | 'edit'): MappedSize {
  if (size === undefined || size === 'auto') {
    return mode === 'edit' ? { aspect_ratio: null, image_size: '1K', label: 'auto' } : { aspect_ratio: '1:1', image_size: '1K', pixel_size: { width: 1024, height: 1024 }, label: '1024x1024' };
  }
  const allowed = sizesFor(model);
  if (!allowed.includes(size)) {
    throw badRequest(`size "${size}" is not offered by model "${model.id}": use auto or one of ${allowed.join(', ')}.`, {
      fields: [{ path: 'size', message: `must be auto or one of ${allowed.join(', ')}` }],
    });
  }
  const [width, height] = size.split('x').map(Number) as [number, number];
  const long = Math.max(width, height);
  const sizes = IMAGE_SIZES.filter((s) => model.imageSizes.includes(s));
  const image_size = sizes.find((s) => LONG_SIDE[s] >= long) ?? sizes[sizes.length - 1] ?? '1K';
  return { aspect_ratio: nearestRatio(width, height, model.aspectRatios), image_size, pixel_size: { width, height }, label: size };
}
