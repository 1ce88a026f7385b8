import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { AccountWebhook, AccountWebhookBody, RotateSecretBody, DeliveryIdParams, DeliveryList, DeliveryListQuery, WebhookDelivery } from '../../contract/webhooks.js';
import { requireAuth } from '../auth.js';
import { notFound } from '../../errors.js';
import { isoSeconds } from '../../util/time.js';
import { DEFAULT_ROTATION_OVERLAP_S, rotateWebhookSecret, signingSecrets, webhookSettings } from '../../webhooks/secret.js';
import { deliveryCursor, listDeliveries, redeliver } from '../../webhooks/deliveries.js';
import { cursorOf, pageRequest } from '../page-request.js';
import { setAccountWebhook } from '../../webhooks/account-webhook.js';
import { checkWebhookUrl } from '../create-extras.js';

type Settings = Awaited<ReturnType<typeof webhookSettings>>;
const view = (w: Settings) => ({
  url: w.url,
  events: w.events_json ? (JSON.parse(w.events_json) as string[]) : null,
  secret: w.secret,
  previous_secret_expires_at: signingSecrets(w).length > 1 ? isoSeconds(Number(w.previous_secret_expires_at)) : null,
  updated_at: isoSeconds(Number(w.updated_at)),
});

/** The account's default webhook and signing secret, and the delivery log (Easel, issue 7). */
export function webhookRoutes(app: FastifyInstance, s: Services): void {
  app.addSchema(WebhookDelivery);

  app.get(
    '/v1/account/webhook',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'Your default webhook and signing secret (Easel)',
        description: 'The secret (whsec_…) signs every delivery of this account the Standard Webhooks way; it is created on first read.',
        tags: ['webhooks'],
        response: { 200: AccountWebhook, ...errorResponses(401) },
      },
    },
    async (req) => view(await webhookSettings(s.db, s.webhookSecrets, requireAuth(req).accountId)),
  );

  app.put(
    '/v1/account/webhook',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'Set your default webhook (Easel)',
        description:
          'Jobs created afterwards without webhook_url report to this URL (url: null turns it off). events filters the event types (null/absent: all). ' +
          'The URL must be https and resolve to a public address (422 validation_failed otherwise).',
        tags: ['webhooks'],
        body: AccountWebhookBody,
        response: { 200: AccountWebhook, ...errorResponses(400, 401, 422) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const body = req.body as Static<typeof AccountWebhookBody>;
      if (body.url !== null) await checkWebhookUrl(s, body.url, 'url');
      await setAccountWebhook(s.db, s.webhookSecrets, auth.accountId, { url: body.url, events: body.events });
      return view(await webhookSettings(s.db, s.webhookSecrets, auth.accountId));
    },
  );

  app.post(
    '/v1/account/webhook/rotate-secret',
    {
      config: { adminOnly: true },
      schema: {
        summary: 'Replace your webhook signing secret (Easel)',
        description:
          'Every attempt from now on, retries of earlier deliveries included, is signed with the new secret, and for expire_previous_in_s seconds ' +
          '(default 86400, 0 to stop at once) also with the replaced one: webhook-signature carries both, so a receiver still configured with the old ' +
          'secret keeps verifying while it is switched over. The body is optional.',
        tags: ['webhooks'],
        body: RotateSecretBody,
        response: { 200: AccountWebhook, ...errorResponses(400, 401, 422) },
      },
      // The body is optional: a bare POST rotates with the default overlap.
      preValidation: (req, _reply, done) => {
        req.body ??= {};
        done();
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const body = req.body as Static<typeof RotateSecretBody>;
      await rotateWebhookSecret(s.db, s.webhookSecrets, auth.accountId, body.expire_previous_in_s ?? DEFAULT_ROTATION_OVERLAP_S);
      return view(await webhookSettings(s.db, s.webhookSecrets, auth.accountId));
    },
  );

  app.get(
    '/v1/webhooks/deliveries',
    {
      schema: {
        summary: 'Your webhook deliveries and every attempt (Easel)',
        description:
          'Oldest first; job_id filters to one job (404 if it is not yours). Each attempt: status_code, latency_ms, error, time. ' +
          'Pages by offset, or by the Easel cursor: next_cursor (an opaque token, null on the last page) back as starting_after, with the same job_id; deliveries queued meanwhile are appended after it, never shifting the walk.',
        tags: ['webhooks'],
        querystring: DeliveryListQuery,
        response: { 200: DeliveryList, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const auth = requireAuth(req);
      const q = req.query as Static<typeof DeliveryListQuery>;
      if (q.job_id && !(await s.jobs.getForAccount(q.job_id, auth.accountId))) throw notFound(`No job ${q.job_id}.`);
      const { limit, offset, startingAfter } = pageRequest(q, 50);
      const after = cursorOf(startingAfter, deliveryCursor.decode, 'GET /v1/webhooks/deliveries');
      const page = await listDeliveries(s.db, auth.accountId, q.job_id, { limit, offset, after });
      return { deliveries: page.deliveries, limit, offset, total: page.total, next_cursor: page.next ? deliveryCursor.encode(page.next) : null };
    },
  );

  app.post(
    '/v1/webhooks/deliveries/:id/redeliver',
    {
      schema: {
        summary: 'Send a delivery again (Easel)',
        description: 'Makes the delivery due now with a fresh 24 h retry window; same webhook-id. Answers 202 with the delivery.',
        tags: ['webhooks'],
        params: DeliveryIdParams,
        response: { 202: Type.Ref('WebhookDelivery'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const auth = requireAuth(req);
      const { id } = req.params as Static<typeof DeliveryIdParams>;
      const d = await redeliver(s.db, auth.accountId, id);
      if (!d) throw notFound(`No webhook delivery ${id}.`);
      return reply.code(202).send(d);
    },
  );
}
