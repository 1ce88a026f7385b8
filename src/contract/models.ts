import { Type } from 'typebox';
import { DateTime, Eur } from './common.js';

export const Model = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    description: Type.String(),
    aliases: Type.Array(Type.String(), { description: 'Easel: short names accepted wherever a model id is.' }),
    operations: Type.Array(Type.Enum(['generate', 'edit', 'combine'])),
    can_generate: Type.Boolean(),
    can_edit: Type.Boolean(),
    supports_multiturn: Type.Boolean(),
    aspect_ratios: Type.Array(Type.String()),
    image_sizes: Type.Array(Type.String()),
    fixed_sizes: Type.Array(Type.String()),
    output_formats: Type.Array(Type.String()),
    approximate_cost_eur: Eur,
    max_characters: Type.Integer({ minimum: 0 }),
    max_combine_inputs: Type.Integer({ minimum: 0 }),
    // Easel (issue 22): the seed-aware result cache's terms, only on models the operator made cacheable.
    cacheable: Type.Optional(
      Type.Literal(true, {
        description:
          'Easel: an identical request (same prompt, model, size, seed and inputs) may be served from a kept result of an earlier one, charged cache_price_eur instead of the price (docs/REPRODUCIBILITY.md). Omitted for models without a result cache.',
      }),
    ),
    cache_price_eur: Type.Optional(Type.String({ pattern: '^-?\\d+\\.\\d{6}$', description: 'Easel, cacheable models: what a result served from the cache costs, EUR (the hold is still the full price).' })),
    cache_shared: Type.Optional(
      Type.Boolean({ description: "Easel, cacheable models: true — one cache for every account (a request may be served another account's identical result); false — each account has its own." }),
    ),
  },
  { additionalProperties: false },
);

export const ModelList = Type.Object(
  { models: Type.Array(Model), cached_at: DateTime, disclaimer: Type.String() },
  { additionalProperties: false },
);

export const PricingList = Type.Object(
  {
    currency: Type.Literal('EUR'),
    prices: Type.Array(
      Type.Object({
        model: Type.String(),
        name: Type.String(),
        aliases: Type.Array(Type.String()),
        operations: Type.Array(Type.String()),
        approximate_cost_eur: Eur,
        unit: Type.String(),
      }),
    ),
    processing_cost_eur: Eur,
    disclaimer: Type.String(),
  },
  { additionalProperties: false },
);
