import { EaselError } from '../errors.js';
import { eurToMicros } from '../util/money.js';
import type { ImageProvider, Operation } from './port.js';
import type { ImageSize } from '../contract/dimensions.js';

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
  fixedSizes?: string[];
  outputFormats: string[];
  priceMicros: number;
  maxCharacters: number;
  maxCombineInputs: number;
  /** Issue 19: tried in order when this model's pool has no healthy backend or is busy past its overflow limit (src/fleet/fallback.ts). */
  fallbacks: string[];
  /**
   * Issue 22: the seed-aware result cache (src/pipelines/result-cache.ts), when the operator made
   * this model `cacheable` (its provider must be deterministic). `shared`: one cache for every
   * account instead of one per account.
   */
  cache?: { priceMicros: number; shared: boolean };
}

/** Which job operations need which model operation. */
const OPERATION_NEEDS: Record<string, Operation> = {
  image: 'generate',
  graphic: 'generate',
  diagram: 'generate',
  story: 'generate',
  edit_image: 'edit',
  edit_graphic: 'edit',
  edit_diagram: 'edit',
  combine_image: 'combine',
  combine_graphic: 'combine',
  combine_diagram: 'combine',
};

/** `defaults` keys tried for a job operation: its own, then its family (`edit_graphic` → `edit`). */
const defaultKeys = (jobOperation: string): string[] => {
  const family = /^(edit|combine)_/.exec(jobOperation)?.[1];
  return family ? [jobOperation, family] : [jobOperation];
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
  /**
   * Auto-selection when no model is named: the catalogue's `defaults.<operation>` if set, else the
   * cheapest model that can do the operation (and multi-turn, for stories); ties keep file order.
   */
  pick(jobOperation: string, opts: { multiturn?: boolean } = {}): ModelEntry | undefined {
    const configured = defaultKeys(jobOperation).map((k) => this.defaults[k]).find((v) => v);
    if (configured) return this.byName.get(configured.toLowerCase());
    const need = OPERATION_NEEDS[jobOperation] ?? 'generate';
    return this.models
      .filter((m) => m.operations.includes(need) && (!opts.multiturn || m.supportsMultiturn))
      .reduce<ModelEntry | undefined>((best, m) => (!best || m.priceMicros < best.priceMicros ? m : best), undefined);
  }

  /** A model by id (fallbacks name ids). */
  byId(id: string): ModelEntry | undefined {
    return this.models.find((m) => m.id === id);
  }

  /**
   * The hold for a request to `model`: its price — or, when it has fallbacks and the client allowed
   * more (max_cost_eur), up to the dearest of them within that allowance, so a reroute to a dearer
   * model is covered. What is captured is the price of the model that ran; the rest is released.
   */
  holdFor(model: ModelEntry, maxCostMicros: number | undefined): number {
    if (model.fallbacks.length === 0 || maxCostMicros === undefined || maxCostMicros <= model.priceMicros) return model.priceMicros;
    const dearest = Math.max(model.priceMicros, ...model.fallbacks.map((id) => this.byId(id)?.priceMicros ?? 0));
    return Math.min(maxCostMicros, dearest);
  }

  resolve(requested: string | null | undefined, jobOperation: string, opts: { multiturn?: boolean } = {}): ModelEntry {
    if (!requested) {
      const picked = this.pick(jobOperation, opts);
      if (!picked) throw new EaselError(422, 'model_not_capable', `No model in this catalogue can do "${jobOperation}".`, { operation: jobOperation });
      return picked;
    }
    const m = this.byName.get(requested.toLowerCase());
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
