import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { ApiKeyList, ApiKeyView, CreateKeyBody, CreatedApiKey, KeyIdParams } from '../../contract/keys.js';
import { insufficientScope, requireAuth } from '../auth.js';
import { notFound } from '../../errors.js';
import { createAccountKey, keyView, listAccountKeys, revokeAccountKey } from '../../accounts/account-keys.js';

/**
 * The caller's own API keys (Easel, issue 9). An admin key of the account manages its keys (issue
 * 20); a generate key may only revoke itself (whoever holds a leaked key can still kill it). The
 * operator CLI (`easel keys …`) still manages every account.
 */
export function keyRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(ApiKeyView);

  app.get(
    '/v1/keys',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'List your account\'s API keys (Easel)',
        description: 'Every key of the account, revoked ones included, oldest first: id, name, scope, prefix, created_at, last_used_at, revoked_at, and current (the key of this request). The secret is never returned.',
        tags: ['keys'],
        response: { 200: ApiKeyList, ...errorResponses(401) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      return { keys: (await listAccountKeys(s.db, auth.accountId)).map((r) => keyView(r, auth.keyId)) };
    },
  );

  app.post(
    '/v1/keys',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'Create an API key for your account (Easel)',
        description:
          'Answers 201 with the secret `key`, shown this once (only its SHA-256 is stored). `name` is optional (a random key-xxxxxxxx otherwise); names are unique within your account: one you already have (revoked keys included) is 409 conflict. ' +
          '`scope` is `generate` unless you ask for `admin`: a generate key creates and reads jobs, and is refused (403 insufficient_scope) by key management, account settings and the account webhook. ' +
          'At most 50 active keys per account (409 beyond).',
        tags: ['keys'],
        body: CreateKeyBody,
        response: { 201: CreatedApiKey, ...errorResponses(400, 401, 409, 422) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { name, scope } = (req.body ?? {}) as Static<typeof CreateKeyBody>;
      const row = await createAccountKey(s.db, auth.accountId, name, scope ?? 'generate');
      req.log.info({ key_id: row.id, scope: row.scope }, 'api key created');
      return reply.code(201).send({ ...keyView(row, auth.keyId), key: row.key });
    },
  );

  app.delete(
    '/v1/keys/:id',
    {
      schema: {
        summary: 'Revoke one of your API keys (Easel)',
        description:
          'The key answers 401 from its next request on, and event streams opened with it close within seconds. Revoking the key this request is made with is allowed. Revoking a revoked key answers it unchanged. ' +
          'Another account\'s key is 404, as a missing one. Requires an admin key, except that any key may revoke itself: a generate key revoking another key is answered 403 insufficient_scope.',
        tags: ['keys'],
        params: KeyIdParams,
        response: {
          200: Type.Ref('ApiKey'),
          ...errorResponses(400, 401, 404),
          403: { ...Type.Ref('Error'), description: 'insufficient_scope: a generate key may revoke only itself (or account_suspended).' },
        },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof KeyIdParams>;
      if (auth.scope !== 'admin' && id !== auth.keyId) throw insufficientScope('Revoking another key');
      const row = await revokeAccountKey(s.db, auth.accountId, id);
      if (!row) throw notFound(`No key ${id}.`);
      req.log.info({ key_id: id }, 'api key revoked');
      return keyView(row, auth.keyId);
    },
  );
}
