import type { Config } from '../config.js';
import { ASPECT_RATIOS, type ModelEntry } from './catalogue.js';
import { SketchProvider } from './sketch-provider.js';
import { eurToMicros } from '../util/money.js';

/** The built-in catalogue: the offline renderer in its story-capable and its cheaper single-turn form. */
export function builtinModels(config: Config): ModelEntry[] {
  // Shared by both models: a simulated outage hits the renderer, whichever model asked.
  const failures = { remaining: config.sketchFailures };
  const common = {
    operations: ['generate'] as const,
    aspectRatios: ASPECT_RATIOS,
    imageSizes: ['1K', '2K', '4K'] as const,
    outputFormats: ['png', 'jpeg', 'webp'],
    maxCombineInputs: 0,
  };
  return [
    {
      ...common,
      operations: [...common.operations],
      id: 'easel-sketch',
      aliases: ['sketch'],
      name: 'Easel Sketch',
      description:
        'Offline local renderer: deterministic abstract compositions from the prompt, no network and no GPU. Keeps characters visually consistent across story scenes. The default model.',
      provider: new SketchProvider('easel-sketch', { latencyMs: config.sketchLatencyMs, multiturn: true, callLog: config.providerCallLog, failures }),
      supportsMultiturn: true,
      priceMicros: eurToMicros(config.sketchPriceEur),
      maxCharacters: 10,
    },
    {
      ...common,
      operations: [...common.operations],
      id: 'easel-sketch-fast',
      aliases: ['sketch-fast'],
      name: 'Easel Sketch Fast',
      description: 'The offline renderer as a cheaper single-turn model: single images only, no stories.',
      provider: new SketchProvider('easel-sketch-fast', { latencyMs: config.sketchLatencyMs, multiturn: false, callLog: config.providerCallLog, failures }),
      supportsMultiturn: false,
      priceMicros: eurToMicros(config.sketchFastPriceEur),
      maxCharacters: 0,
    },
  ];
}
