import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { DateTime, Eur, Uuid, errorResponses } from '../../contract/common.js';
import { requireAuth } from '../auth.js';
import { microsToEur } from '../../util/money.js';
import { isoSeconds } from '../../util/time.js';

export const Profile = Type.Object(
  {
    user: Type.Object(
      {
        id: Uuid,
        name: Type.Union([Type.String(), Type.Null()]),
        email: Type.Union([Type.String(), Type.Null()]),
        created_at: DateTime,
        balance_eur: Eur,
        held_eur: Eur,
        credits_expire_at: Type.Union([DateTime, Type.Null()]),
        credit_limit_cents: Type.Integer(),
        strictness: Type.Enum(['normal', 'liberal'], { description: 'Easel: the account default moderation strictness.' }),
        status: Type.Enum(['active', 'suspended'], { description: 'Easel.' }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export function accountRoutes(app: FastifyInstance, s: Services): void {
  app.get(
    '/v1/account/profile',
    { schema: { summary: 'Your account: spendable balance and held amount', tags: ['account'], response: { 200: Profile, ...errorResponses(401) } } },
    async (req) => {
      const auth = requireAuth(req);
      const a = await s.db.selectFrom('accounts').selectAll().where('id', '=', auth.accountId).executeTakeFirstOrThrow();
      return {
        user: {
          id: a.id,
          name: a.name,
          email: a.email,
          created_at: isoSeconds(Number(a.created_at)),
          balance_eur: microsToEur(Number(a.available_micros)),
          held_eur: microsToEur(Number(a.held_micros)),
          credits_expire_at: null,
          credit_limit_cents: 0,
          strictness: a.strictness,
          status: a.status,
        },
      };
    },
  );
}
