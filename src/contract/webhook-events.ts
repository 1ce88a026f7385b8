import { Type } from 'typebox';

/**
 * Every event type a webhook or an SSE stream can carry (src/jobs/event-log.ts writes them). They
 * live in contract/ because create bodies and the webhook settings name them on the wire.
 */
export const WEBHOOK_EVENT_TYPES = ['job.created', 'job.started', 'scene.completed', 'scene.failed', 'job.completed', 'job.failed', 'job.canceled', 'batch.item.completed', 'batch.item.failed', 'job.progress'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Events after which a job emits nothing more. */
export const TERMINAL_EVENTS = new Set(['job.completed', 'job.failed', 'job.canceled']);

export const WebhookEventTypeSchema = Type.Enum([...WEBHOOK_EVENT_TYPES]);

export const WebhookUrl = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Easel: an https URL that receives this job\'s events as signed POSTs (Standard Webhooks). Replaces the account default webhook for this job.',
});
export const WebhookEvents = Type.Array(WebhookEventTypeSchema, {
  minItems: 1,
  maxItems: WEBHOOK_EVENT_TYPES.length,
  uniqueItems: true,
  description: 'Easel: only these event types are delivered (default: all stored events). job.progress (live progress, at most one a second, coalesced: a waiting one carries the latest report) is opt-in: it is sent only when named here.',
});

/** The optional create-request fields, spread into each create body schema. */
export const webhookFields = {
  webhook_url: Type.Optional(WebhookUrl),
  webhook_events: Type.Optional(WebhookEvents),
};
