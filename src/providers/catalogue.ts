import { EaselError } from '../errors.js';
import { eurToMicros } from '../util/money.js';
import type { ImageProvider, Operation } from './port.js';

export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export const IMAGE_SIZES = ['1K', '2K', '4K'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
export type ImageSize = (typeof IMAGE_SIZES)[number];

export interface ModelEntry {
  id: string;
  aliases: string[];
  name: string;
  description: string;
  provider: ImageProvider;
  operations: Operation[];
  supportsMultiturn: boolean;
  aspectRatios: readonly string[];
  imageSizes: readonly ImageSize[];
  outputFormats: string[];
  priceMicros: number;
  maxCharacters: number;
  maxCombineInputs: number;
}

/** Which job operations need which model operation. */
const OPERATION_NEEDS: Record<string, Operation> = {
  image: 'generate',
  graphic: 'generate',
  diagram: 'generate',
  story: 'generate',
};

export class Catalogue {
  private readonly byName = new Map<string, ModelEntry>();

  constructor(
    readonly models: ModelEntry[],
    private readonly defaults: Record<string, string>,
  ) {
    for (const m of models) {
      for (const n of [m.id, ...m.aliases]) this.byName.set(n.toLowerCase(), m);
    }
  }

  /** Resolves an id or alias (or auto-selects when absent) and checks the model can do `jobOperation`. */
  resolve(requested: string | null | undefined, jobOperation: string, opts: { multiturn?: boolean } = {}): ModelEntry {
    const name = requested ?? this.defaults[jobOperation] ?? this.defaults.image;
    const m = name ? this.byName.get(name.toLowerCase()) : undefined;
    if (!m) {
      throw new EaselError(422, 'model_not_found', `Unknown model "${requested}". GET /v1/models lists the models and their aliases.`, {
        model: requested,
      });
    }
    const need = OPERATION_NEEDS[jobOperation] ?? 'generate';
    if (!m.operations.includes(need)) {
      throw new EaselError(422, 'model_not_capable', `Model "${m.id}" cannot ${need}; pick a model whose operations include "${need}".`, {
        model: m.id,
        operation: need,
      });
    }
    if (opts.multiturn && !m.supportsMultiturn) {
      throw new EaselError(422, 'model_not_capable', `Model "${m.id}" does not support multi-turn generation, which stories need.`, {
        model: m.id,
        operation: 'story',
      });
    }
    return m;
  }
}

export function priceMicros(eur: string): number {
  return eurToMicros(eur);
}
