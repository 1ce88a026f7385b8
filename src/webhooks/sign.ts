import { Webhook } from 'standardwebhooks';

/**
 * The three Standard Webhooks headers for one attempt: the id is the delivery's (stable across
 * retries, so receivers can de-duplicate), the timestamp and signature are the attempt's own.
 * Signature: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under each current secret,
 * space-separated (the spec's form for a rotation window: a receiver accepts any one that verifies).
 */
export function signedHeaders(secrets: readonly string[], deliveryId: string, body: string, at = new Date()): Record<string, string> {
  return {
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(deliveryId, at, body)).join(' '),
  };
}
