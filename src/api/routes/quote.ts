import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { Quote } from '../../contract/quote.js';
import { requireAuth } from '../auth.js';
import { EaselError } from '../../errors.js';
import { balanceOf } from '../../billing/ledger.js';
import { microsToEur } from '../../util/money.js';
import { beginQuote, endQuote } from '../../quote/intercept.js';
import { operationOf } from '../../pipelines/process/types.js';
import { PROCESS_OP_SPECS } from './process-ops.js';

/** The create route each quotable operation stands for. */
const ROUTES: Record<string, string> = {
  image: '/v1/generate/image',
  graphic: '/v1/generate/graphic',
  diagram: '/v1/generate/diagram',
  story: '/v1/generate/story',
  ...Object.fromEntries(['image', 'graphic', 'diagram'].flatMap((k) => [[`edit_${k}`, `/v1/edit/${k}`], [`combine_${k}`, `/v1/combine/${k}`]])),
  ...Object.fromEntries(PROCESS_OP_SPECS.map((p) => [operationOf(p.op), `/v1/process/${p.op}`])),
};

const QuoteBody = Type.Object(
  {
    operation: Type.Enum(Object.keys(ROUTES), { description: 'The job operation to price (as in a job\'s `operation`).' }),
    request: Type.Object({}, { additionalProperties: true, description: 'The JSON body the create endpoint would receive (multipart inputs: give them as URLs).' }),
  },
  { additionalProperties: false },
);

/**
 * POST /v1/quote: the request goes through the real create route (validation, moderation, model
 * capability, max_cost_eur) and is stopped where the job would be submitted — see
 * src/quote/intercept.ts. No job, no hold, no ledger row; a refusal is the create's own error.
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
      const quoteId = beginQuote();
      let res: Awaited<ReturnType<typeof app.inject>>;
      let quoted: ReturnType<typeof endQuote> = null;
      try {
        res = await app.inject({
          method: 'POST',
          url: ROUTES[body.operation]!,
          headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json', 'x-request-id': quoteId },
          payload: JSON.stringify(body.request),
        });
      } finally {
        quoted = endQuote(quoteId);
      }
      if (!quoted) {
        // Refused before it would have become a job: the create's own answer, under this request's id.
        const err = JSON.parse(res.body) as { error?: string; message?: string; details?: Record<string, unknown> };
        if (res.statusCode >= 400 && err.error) throw new EaselError(res.statusCode, err.error, err.message ?? 'Refused.', err.details);
        throw new EaselError(500, 'internal_error', 'The request could not be quoted.');
      }
      const bal = await balanceOf(s.db, auth.accountId);
      return {
        operation: body.operation,
        model: quoted.model,
        price_eur: microsToEur(quoted.holdMicros),
        balance_eur: microsToEur(bal.available),
        affordable: quoted.holdMicros <= bal.available,
        scenes_total: quoted.scenesTotal,
      };
    },
  );
}
