import type { Services } from '../app.js';
import type { CreateContext } from './prepare/context.js';
import { validationFailed } from '../errors.js';
import type { IdempotencyClaim } from '../idempotency/request.js';
import { checkTarget, UrlRefused } from '../net/guarded-fetch.js';
import type { RequestedWebhook } from '../jobs/webhook-outbox.js';

export interface CreateExtras {
  idempotency: IdempotencyClaim | null;
  webhook: RequestedWebhook | null;
}

/** Refusals that no retry can cure: the URL itself is unacceptable. DNS trouble is left to delivery time. */
const FATAL = new Set(['scheme', 'credentials', 'bad_url', 'private_address']);

/**
 * The issue-7 extras of a create request: the Idempotency-Key (400 when malformed) and the
 * webhook fields (422 when webhook_url is not an https URL of a public host — the same SSRF
 * policy as input URLs; loopback http only in test mode). `files`: a multipart body's files,
 * part of the idempotency fingerprint. Call before any upload is stored or anything charged.
 */
export async function createExtras(s: Services, ctx: CreateContext, body: Record<string, unknown>, files: readonly Buffer[] = []): Promise<CreateExtras> {
  const idempotency = ctx.idempotency(body, files);
  let webhook: RequestedWebhook | null = null;
  if (typeof body.webhook_url === 'string') {
    await checkWebhookUrl(s, body.webhook_url, 'webhook_url');
    webhook = { url: body.webhook_url, events: Array.isArray(body.webhook_events) ? (body.webhook_events as string[]) : null };
  } else if (body.webhook_events !== undefined) {
    throw validationFailed('webhook_events needs webhook_url (the account default webhook has its own filter).', {
      fields: [{ path: 'webhook_events', message: 'requires webhook_url' }],
    });
  }
  return { idempotency, webhook };
}

export async function checkWebhookUrl(s: Services, url: string, path: string): Promise<void> {
  try {
    await checkTarget(url, { allowLoopbackHttp: s.config.allowLoopbackUrls });
  } catch (e) {
    if (e instanceof UrlRefused && FATAL.has(e.reason)) {
      throw validationFailed(`${path}: ${e.message}`, { fields: [{ path, message: e.message }], reason: e.reason });
    }
    if (!(e instanceof UrlRefused)) throw e;
  }
}

/** The body without the webhook fields (for routes that store the rest as the operation's parameters). */
export function withoutWebhookFields(body: Record<string, unknown>): Record<string, unknown> {
  const { webhook_url: _u, webhook_events: _e, ...rest } = body;
  return rest;
}
