import crypto from 'node:crypto';
import { v7 } from 'uuid';

/** UUIDv7: time-ordered, so "newest first" is an index scan on the primary key. */
export const newId = (): string => v7();

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A request id: `req_` and a random v4 UUID as 32 hex digits. Request ids need no time order, and
 * node batches randomUUID's entropy, so this costs far less than a v7 on every request.
 */
export function requestId(): string {
  const u = crypto.randomUUID();
  return `req_${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(14, 18)}${u.slice(19, 23)}${u.slice(24)}`;
}


export { shortId } from '../sdk/short-id.js';
