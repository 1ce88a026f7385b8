import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { DateTime, Eur, Uuid, errorResponses } from '../../contract/common.js';
import { requireAuth } from '../auth.js';
import { LedgerPage, LedgerQuery, Profile } from '../../contract/account.js';
import { ledgerCursor, ledgerPage } from '../../accounts/usage.js';
import { cursorOf, pageRequest } from '../page-request.js';
import { accountProfile } from '../../accounts/profile.js';

export function accountRoutes(app: FastifyInstance, s: Services): void {
  app.get(
    '/v1/account/profile',
    { schema: { summary: 'Your account: spendable balance and held amount', tags: ['account'], response: { 200: Profile, ...errorResponses(401) } } },
    async (req) => {
      const auth = requireAuth(req);
      return { user: await accountProfile(s.db, auth.accountId, { maxRunningJobs: s.config.maxConcurrentJobs, maxQueuedJobs: s.config.maxQueuedJobs }) };
    },
  );

  app.get(
    '/v1/account/ledger',
    {
      schema: {
        summary: 'Your ledger: every money movement, newest first (Easel)',
        description:
          'Paginated like GET /v1/jobs (limit 1–100, default 20; offset, or the Easel cursor: next_cursor, an opaque token, back as starting_after; null on the last page). Each entry: id, kind (grant, hold, capture, release, …), amount_eur (change to the spendable balance), held_delta_eur (change to the held amount), job_id, note, created_at. ' +
          'The sum of amount_eur over all entries is balance_eur; the sum of held_delta_eur is held_eur.',
        tags: ['account'],
        querystring: LedgerQuery,
        response: { 200: LedgerPage, ...errorResponses(400, 401, 422) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const q = req.query as Static<typeof LedgerQuery>;
      const { limit, offset, startingAfter } = pageRequest(q, 20);
      const after = cursorOf(startingAfter, ledgerCursor.decode, 'GET /v1/account/ledger');
      const page = await ledgerPage(s.db, auth.accountId, { limit, offset, after });
      const last = page.rows[page.rows.length - 1];
      return { entries: page.rows, limit, offset, total: page.total, next_cursor: page.more && last ? ledgerCursor.encode(last) : null };
    },
  );
}
