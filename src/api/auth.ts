import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeyLookup } from '../accounts/key-lookup.js';
import { KEY_RE, hashApiKey, keysMatch } from '../accounts/api-keys.js';
import { EaselError, authInvalid } from '../errors.js';

/** How stale api_keys.last_used_at may get: one write per key per minute, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthContext {
  accountId: string;
  keyId: string;
  strictness: 'normal' | 'liberal';
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** Routes marked public answer without an API key. */
    public?: boolean;
  }
}

export function requireAuth(req: FastifyRequest): AuthContext {
  if (!req.auth) throw authInvalid('Send your API key as "Authorization: Bearer esl_…".');
  return req.auth;
}

/** Bearer-key authentication for every route not marked public. */
export function installAuth(app: FastifyInstance, keys: KeyLookup): void {
  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (req) => {
    if (req.routeOptions.config?.public) return;
    if (!req.routeOptions.url) return; // unknown route: the 404 handler answers
    const header = req.headers.authorization;
    if (!header) throw authInvalid('Missing API key. Send "Authorization: Bearer esl_…".');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw authInvalid('Malformed Authorization header; expected "Bearer esl_…".');
    const key = m[1]!;
    if (!KEY_RE.test(key)) throw authInvalid('The API key is not valid.');
    const row = await keys.byHash(hashApiKey(key));
    // The lookup is by hash; the constant-time comparison guards against any index-timing signal.
    if (!row || !keysMatch(row.key_hash, key)) throw authInvalid('The API key is not valid.');
    if (row.revoked_at != null) throw authInvalid('This API key has been revoked.');
    if (row.status !== 'active') throw new EaselError(403, 'account_suspended', 'This account is suspended; contact the operator.');
    req.auth = { accountId: row.account_id, keyId: row.key_id, strictness: row.strictness };
    // GET /v1/keys shows when a key was last used; written at most once a minute per key, off the request path.
    const now = Date.now();
    if (row.last_used_at == null || now - Number(row.last_used_at) > LAST_USED_RESOLUTION_MS) {
      void keys.touch(row.key_id, now).catch(() => undefined);
    }
  });
}
