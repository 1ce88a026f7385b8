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
    const provider = factory.make({ id: m.id, provider: m.provider, vendorModel: m.vendor_model ?? m.id, multiturn });
    for (const op of m.operations) {
      if (!provider.capabilities.operations.includes(op)) {
        throw new Error(`${file}: model "${m.id}" lists operation "${op}", which its provider (${m.provider}, ${m.vendor_model ?? m.id}) cannot do`);
      }
    }
    if (multiturn && !provider.capabilities.multiturn) throw new Error(`${file}: model "${m.id}" claims multi-turn, which its provider lacks`);
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
    };
  });
  const defaults = parsed.defaults ?? {};
  for (const [op, id] of Object.entries(defaults)) {
    if (!seen.has(id)) throw new Error(`${file}: the default model for "${op}" ("${id}") is not in the catalogue`);
  }
  return { models, defaults };
}
