import { Webhook } from 'standardwebhooks';

/**
 * The three Standard Webhooks headers for one attempt: the id is the delivery's (stable across
 * retries, so receivers can de-duplicate), the timestamp and signature are the attempt's own.
 * Signature: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the account secret.
 */
export function signedHeaders(secret: string, deliveryId: string, body: string, at = new Date()): Record<string, string> {
  const signature = new Webhook(secret).sign(deliveryId, at, body);
  return {
    'webhook-id': deliveryId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': signature,
  };
}
