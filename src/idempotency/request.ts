import crypto from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';

/** Keys longer than this are refused (400): they are stored and indexed per account. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
/** How long a key answers with its first job. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000;

export interface IdempotencyClaim {
  key: string;
  /** SHA-256 over the route, the canonical JSON body and any uploaded file bytes. */
  hash: string;
}

/** JSON with object keys sorted at every level, so `{"a":1,"b":2}` and `{"b":2,"a":1}` hash alike. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

/**
 * Reads the Idempotency-Key header of a create request (null when absent) and fingerprints the
 * request. The route is part of the fingerprint: one key reused on another endpoint is a conflict.
 * `body` is the JSON body, or a multipart body's fields; `files` a multipart body's files in order.
 */
export function idempotencyOf(req: FastifyRequest, body: unknown, files: readonly Buffer[] = []): IdempotencyClaim | null {
  const raw = req.headers['idempotency-key'];
  if (raw === undefined) return null;
  const key = Array.isArray(raw) ? raw.join(',') : raw;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH || !/^[\x21-\x7e]+$/.test(key)) {
    throw badRequest(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters.`, {
      fields: [{ path: 'Idempotency-Key', message: `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} visible ASCII characters` }],
    });
  }
  const h = crypto.createHash('sha256');
  h.update(`${req.method} ${req.routeOptions.url ?? req.url}\n`);
  h.update(canonicalJson(body ?? null));
  for (const f of files) h.update('\nfile:').update(crypto.createHash('sha256').update(f).digest('hex'));
  return { key, hash: h.digest('hex') };
}
