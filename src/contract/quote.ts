import { Type } from 'typebox';
import { Eur } from './common.js';

/**
 * `POST /v1/quote` → 200. The request body stays with its route (src/api/routes/quote.ts): its
 * `operation` enum is built from the route table there.
 */
export const Quote = Type.Object(
  {
    operation: Type.String(),
    model: Type.Union([Type.String(), Type.Null()]),
    price_eur: Eur,
    balance_eur: Eur,
    affordable: Type.Boolean({ description: 'Whether your spendable balance covers price_eur right now (else the create answers 402).' }),
    scenes_total: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);
