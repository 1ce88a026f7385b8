import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { AccountSettings, AccountSettingsBody } from '../../contract/account-settings.js';
import { requireAuth } from '../auth.js';
import { accountSettings, setAccountSettings } from '../../accounts/settings.js';

/** Per-account defaults that jobs pick up when their request does not say (Easel, issue 7). */
export function accountSettingsRoutes(app: FastifyInstance, s: Services): void {
  const view = (accountId: string) => accountSettings(s.db, accountId, s.jobs.retentionS);

  app.get(
    '/v1/account/settings',
    {
      schema: {
        summary: 'Your account defaults (Easel)',
        tags: ['account'],
        response: { 200: AccountSettings, ...errorResponses(401) },
      },
    },
    async (req) => view(requireAuth(req).accountId),
  );

  app.put(
    '/v1/account/settings',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'Set your account defaults (Easel)',
        description: 'retention_days applies to jobs created afterwards that give none themselves; null returns to the server default.',
        tags: ['account'],
        body: AccountSettingsBody,
        response: { 200: AccountSettings, ...errorResponses(400, 401, 422) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const body = req.body as Static<typeof AccountSettingsBody>;
      await setAccountSettings(s.db, auth.accountId, { retention_days: body.retention_days });
      return view(auth.accountId);
    },
  );
}
