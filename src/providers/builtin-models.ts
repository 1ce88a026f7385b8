import type { Config } from '../config.js';
import type { ModelEntry } from './catalogue.js';
import { ASPECT_RATIOS } from '../contract/dimensions.js';
import type { ProviderFactory } from './factory.js';
import { eurToMicros } from '../util/money.js';

/**
 * The built-in catalogue, used when EASEL_MODELS_FILE is unset: the offline renderer in its
 * story-capable form (generate, edit, combine) and as a cheaper single-turn, generate-only model. `config/models.example.yaml` holds the
 * same two plus commented examples for every vendor.
 */
export function builtinModels(config: Config, factory: ProviderFactory): ModelEntry[] {
  const common = {
    operations: ['generate' as const],
    aspectRatios: ASPECT_RATIOS,
    imageSizes: ['1K', '2K', '4K'] as const,
    outputFormats: ['png', 'jpeg', 'webp'],
    maxCombineInputs: 0,
    fallbacks: [] as string[],
  };
  return [
    {
      ...common,
      id: 'easel-sketch',
      aliases: ['sketch'],
      operations: ['generate' as const, 'edit' as const, 'combine' as const],
      name: 'Easel Sketch',
      description:
        'Offline local renderer: deterministic abstract compositions from the prompt, no network and no GPU. Keeps characters visually consistent across story scenes; draws flat graphics and typed diagrams; edits (instruction applied to the input) and combines (inputs tiled as the prompt arranges them). The default model.',
      provider: factory.make({ id: 'easel-sketch', provider: 'sketch', vendorModel: 'sketch', multiturn: true }),
      supportsMultiturn: true,
      priceMicros: eurToMicros(config.sketchPriceEur),
      maxCharacters: 10,
    },
    {
      ...common,
      id: 'easel-sketch-fast',
      aliases: ['sketch-fast'],
      name: 'Easel Sketch Fast',
      description: 'The offline renderer as a cheaper single-turn model: generates single images, graphics and diagrams only (no edit, combine or stories).',
      provider: factory.make({ id: 'easel-sketch-fast', provider: 'sketch', vendorModel: 'sketch', multiturn: false }),
      supportsMultiturn: false,
      priceMicros: eurToMicros(config.sketchFastPriceEur),
      maxCharacters: 0,
    },
  ];
}
