import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { Quote } from '../../contract/quote.js';
import { requireAuth } from '../auth.js';
import { balanceOf } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { checkMaxCost } from '../../jobs/options.js';
import { quoteContext } from '../prepare/context.js';
import { QUOTABLE_OPERATIONS, prepareForQuote } from '../prepare/quotable.js';

const QuoteBody = Type.Object(
  {
    operation: Type.Enum(QUOTABLE_OPERATIONS, { description: 'The job operation to price (as in a job\'s `operation`).' }),
    request: Type.Object({}, { additionalProperties: true, description: 'The JSON body the create endpoint would receive (multipart inputs: give them as URLs).' }),
  },
  { additionalProperties: false },
);

/**
 * POST /v1/quote: the request goes through the create's own prepare function (validation,
 * moderation, model capability, limits, price; src/api/prepare/) and the max_cost_eur check
 * JobService.submit makes, and stops there. No job, no hold, no ledger row; a refusal is the
 * create's own error.
 */
export function quoteRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/quote',
    {
      schema: {
        summary: 'Price a request without running it (Easel)',
        description:
          'Runs every check the create endpoint runs — schema validation, moderation (403/451), model capability (422), limits — and answers with the price (the amount the create would hold: for a story, the unit price × portraits + scenes), your balance and whether it covers it. ' +
          'Nothing is created, held or charged. A request the create would refuse gets that same error.',
        tags: ['account'],
        body: QuoteBody,
        response: { 200: Quote, ...errorResponses(400, 401, 403, 404, 413, 422, 429, 451, 500) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const body = req.body as Static<typeof QuoteBody>;
      const input = await prepareForQuote(s, quoteContext(auth), body.operation, body.request as Record<string, unknown>);
      checkMaxCost(input.options, input.holdMicros);
      const bal = await balanceOf(s.db, auth.accountId);
      return {
        operation: body.operation,
        model: input.model,
        price_eur: microsToEur(input.holdMicros),
        balance_eur: microsToEur(bal.available),
        affordable: input.holdMicros <= bal.available,
        scenes_total: input.scenesTotal,
      };
    },
  );
}
