import fs from 'node:fs';
import { Ajv } from 'ajv';
import { Type, type Static } from 'typebox';
import YAML from 'yaml';
import type { ModelEntry } from './catalogue.js';
import { ASPECT_RATIOS, IMAGE_SIZES } from '../contract/dimensions.js';
import type { ProviderFactory } from './factory.js';
import { eurToMicros } from '../util/money.js';

const Entry = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9._/-]{0,99}$' }),
    aliases: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9._/-]{0,99}$' }))),
    name: Type.String({ minLength: 1 }),
    description: Type.String(),
    provider: Type.String(),
    vendor_model: Type.Optional(Type.String()),
    operations: Type.Array(Type.Enum(['generate', 'edit', 'combine']), { minItems: 1 }),
    aspect_ratios: Type.Optional(Type.Array(Type.Enum([...ASPECT_RATIOS]))),
    image_sizes: Type.Optional(Type.Array(Type.Enum([...IMAGE_SIZES]))),
    fixed_sizes: Type.Optional(Type.Array(Type.String({ pattern: '^\\d+x\\d+$' }))),
    output_formats: Type.Optional(Type.Array(Type.Enum(['png', 'jpeg', 'webp']))),
    price_eur: Type.String({ pattern: '^\\d{1,6}(\\.\\d{1,6})?$' }),
    supports_multiturn: Type.Optional(Type.Boolean()),
    max_characters: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
    max_input_images: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
    /** Issue 19: this model's own backends (a pool); absent = the vendor's env settings. */
    endpoints: Type.Optional(
      Type.Array(
        Type.Object(
          {
            url: Type.String({ pattern: '^https?://' }),
            max_concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
            labels: Type.Optional(Type.Record(Type.String(), Type.String())),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 256 },
      ),
    ),
    /** Models tried in order when this one's backends are all down, or busy past overflow_after_s. */
    fallbacks: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9._/-]{0,99}$' }), { maxItems: 8 })),
    overflow_after_s: Type.Optional(Type.Number({ minimum: 0, maximum: 86_400 })),
    /** Issue 22: reuse a kept result for an identical request (seed included); deterministic providers only. */
    cacheable: Type.Optional(Type.Boolean()),
    /** What a result served from the cache costs (default 0); at most price_eur. */
    cache_price_eur: Type.Optional(Type.String({ pattern: '^\\d{1,6}(\\.\\d{1,6})?$' })),
    /** One cache for every account (every catalogue model is public), instead of one per account. */
    cache_shared: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const FileSchema = Type.Object(
  {
    models: Type.Array(Entry, { minItems: 1 }),
    defaults: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

export type CatalogueFile = Static<typeof FileSchema>;

const validate = new Ajv({ allErrors: true, strict: false }).compile(FileSchema);

/**
 * Reads the model catalogue (YAML or JSON) and builds each model's provider. Mistakes are
 * reported at start-up with the file and the offending entry, never at the first request.
 */
export function loadCatalogueFile(file: string, factory: ProviderFactory): { models: ModelEntry[]; defaults: Record<string, string> } {
  const doc = YAML.parse(fs.readFileSync(file, 'utf8')) as unknown;
  if (!validate(doc)) {
    const e = validate.errors?.[0];
    throw new Error(`${file}: ${e?.instancePath || '/'} ${e?.message ?? 'is invalid'}`);
  }
  const parsed = doc as CatalogueFile;
  const seen = new Set<string>();
  const models = parsed.models.map((m): ModelEntry => {
    for (const n of [m.id, ...(m.aliases ?? [])]) {
      if (seen.has(n)) throw new Error(`${file}: the name "${n}" is used twice (ids and aliases must be unique)`);
      seen.add(n);
    }
    const multiturn = m.supports_multiturn ?? false;
    if (m.overflow_after_s !== undefined && !(m.fallbacks ?? []).length) throw new Error(`${file}: model "${m.id}" sets overflow_after_s but has no fallbacks to overflow to`);
    const provider = factory.make({
      id: m.id,
      provider: m.provider,
      vendorModel: m.vendor_model ?? m.id,
      multiturn,
      ...(m.endpoints
        ? { endpoints: m.endpoints.map((e) => ({ url: e.url, ...(e.max_concurrency ? { maxConcurrency: e.max_concurrency } : {}), ...(e.weight ? { weight: e.weight } : {}), ...(e.labels ? { labels: e.labels } : {}) })) }
        : {}),
      overflowAfterS: m.overflow_after_s ?? null,
    });
    for (const op of m.operations) {
      if (!provider.capabilities.operations.includes(op)) {
        throw new Error(`${file}: model "${m.id}" lists operation "${op}", which its provider (${m.provider}, ${m.vendor_model ?? m.id}) cannot do`);
      }
    }
    if (multiturn && !provider.capabilities.multiturn) throw new Error(`${file}: model "${m.id}" claims multi-turn, which its provider lacks`);
    const cache = cacheOf(file, m, provider.capabilities.deterministic === true);
    return {
      id: m.id,
      aliases: m.aliases ?? [],
      name: m.name,
      description: m.description,
      provider,
      operations: m.operations,
      supportsMultiturn: multiturn,
      aspectRatios: m.aspect_ratios ?? ASPECT_RATIOS,
      imageSizes: m.image_sizes ?? ['1K'],
      fixedSizes: m.fixed_sizes ?? [],
      outputFormats: m.output_formats ?? ['png', 'jpeg', 'webp'],
      priceMicros: eurToMicros(m.price_eur),
      maxCharacters: m.max_characters ?? 0,
      maxCombineInputs: m.max_input_images ?? 0,
      fallbacks: m.fallbacks ?? [],
      ...(cache ? { cache } : {}),
    };
  });
  for (const m of models) {
    for (const f of m.fallbacks) {
      const fb = models.find((x) => x.id === f);
      if (!fb) throw new Error(`${file}: model "${m.id}" falls back to "${f}", which is not in the catalogue`);
      if (fb.id === m.id) throw new Error(`${file}: model "${m.id}" cannot fall back to itself`);
      const missing = m.operations.filter((op) => !fb.operations.includes(op));
      if (missing.length > 0) throw new Error(`${file}: model "${m.id}" falls back to "${f}", which cannot ${missing.join(', ')}`);
    }
  }
  const defaults = parsed.defaults ?? {};
  for (const [op, id] of Object.entries(defaults)) {
    if (!seen.has(id)) throw new Error(`${file}: the default model for "${op}" ("${id}") is not in the catalogue`);
  }
  return { models, defaults };
}

/**
 * A model's result-cache settings (issue 22), refused at start-up when they cannot be honoured:
 * a cache on a backend that may draw different pixels for the same parameters would hand out an
 * image the request did not produce, and cache_* without cacheable is a typo that silently does nothing.
 */
function cacheOf(file: string, m: Static<typeof Entry>, deterministic: boolean): { priceMicros: number; shared: boolean } | undefined {
  if (!m.cacheable) {
    const stray = (['cache_price_eur', 'cache_shared'] as const).filter((k) => m[k] !== undefined);
    if (stray.length > 0) throw new Error(`${file}: model "${m.id}" sets ${stray.join(' and ')} but is not cacheable (add cacheable: true)`);
    return undefined;
  }
  if (!deterministic) {
    throw new Error(`${file}: model "${m.id}" is cacheable, but its provider (${m.provider}) is not deterministic: the same parameters may give different pixels, so a kept result cannot stand for a new one`);
  }
  const priceMicros = eurToMicros(m.cache_price_eur ?? '0');
  if (priceMicros > eurToMicros(m.price_eur)) throw new Error(`${file}: model "${m.id}" has cache_price_eur ${m.cache_price_eur} above its price_eur ${m.price_eur}`);
  return { priceMicros, shared: m.cache_shared ?? false };
}
