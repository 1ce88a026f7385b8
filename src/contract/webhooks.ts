import { Type } from 'typebox';
import { DateTime, Uuid } from './common.js';
import { NextCursor, PAGE_OFFSET_NOTE, StartingAfterToken } from './pagination.js';
import { WebhookEvents, WebhookUrl } from './webhook-events.js';

export const DeliveryId = Type.String({ pattern: '^msg_[0-9a-f]{32}$', description: 'Delivery id: the webhook-id header of every attempt.' });
export const DeliveryIdParams = Type.Object({ id: DeliveryId }, { additionalProperties: false });

export const WebhookAttempt = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    at: Type.String({ description: 'When the attempt started (RFC 3339, milliseconds).' }),
    status_code: Type.Union([Type.Integer(), Type.Null()], { description: 'The receiver\'s HTTP status; null when no answer (timeout, refused URL, network error).' }),
    latency_ms: Type.Integer({ minimum: 0 }),
    error: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

export const WebhookDelivery = Type.Object(
  {
    id: DeliveryId,
    job_id: Uuid,
    seq: Type.Integer({ minimum: 0, description: 'The event\'s per-job sequence number (also its SSE id); 0 for job.progress, which is not a stored event.' }),
    event_type: Type.String(),
    url: Type.String(),
    status: Type.Enum(['pending', 'succeeded', 'failed'], { description: 'pending: due or waiting for a retry; succeeded: a 2xx was received; failed: retries ended (24 h) or the URL was refused.' }),
    next_attempt_at: Type.Union([DateTime, Type.Null()]),
    created_at: DateTime,
    attempts: Type.Array(WebhookAttempt),
  },
  { $id: 'WebhookDelivery', additionalProperties: false },
);

export const DeliveryList = Type.Object(
  { deliveries: Type.Array(Type.Ref('WebhookDelivery')), limit: Type.Integer(), offset: Type.Integer({ description: PAGE_OFFSET_NOTE }), total: Type.Integer(), next_cursor: NextCursor },
  { additionalProperties: false },
);

export const DeliveryListQuery = Type.Object(
  {
    job_id: Type.Optional(Uuid),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    starting_after: StartingAfterToken,
  },
  { additionalProperties: false },
);

export const AccountWebhook = Type.Object(
  {
    url: Type.Union([Type.String(), Type.Null()], { description: 'Default webhook of jobs created without webhook_url; null = none.' }),
    events: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'Event filter of the default webhook; null = every event.' }),
    secret: Type.String({ pattern: '^whsec_', description: 'Standard Webhooks signing secret of every delivery of this account (per-request webhook_url too).' }),
    previous_secret_expires_at: Type.Union([DateTime, Type.Null()], {
      description: 'After a rotation: until this time every delivery also carries a signature under the replaced secret (webhook-signature holds both, space-separated). null: only the current secret signs.',
    }),
    updated_at: DateTime,
  },
  { additionalProperties: false },
);

export const RotateSecretBody = Type.Object(
  {
    expire_previous_in_s: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 604_800, description: 'Seconds the replaced secret keeps signing beside the new one (default 86400; 0: stops at once; at most 7 days).' }),
    ),
  },
  { additionalProperties: false },
);

export const AccountWebhookBody = Type.Object(
  { url: Type.Union([WebhookUrl, Type.Null()]), events: Type.Optional(Type.Union([WebhookEvents, Type.Null()])) },
  { additionalProperties: false },
);
