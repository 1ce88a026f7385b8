import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { KeyHolder, KeyLookup } from '../accounts/key-lookup.js';
import type { KeyScope } from '../store/schema.js';
import { KEY_RE, hashApiKey, hashesMatch } from '../accounts/api-keys.js';
import { EaselError, authInvalid } from '../errors.js';
import { authFailure, type AuthFailureLimit } from './auth-failures.js';

/** How stale api_keys.last_used_at may get: one write per key per minute, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface AuthContext {
  accountId: string;
  keyId: string;
  scope: KeyScope;
  strictness: 'normal' | 'liberal';
}

declare module 'fastify' {
  interface FastifyRequest {
    auth: AuthContext | null;
  }
  interface FastifyContextConfig {
    /** Routes marked public answer without an API key. */
    public?: boolean;
    /** Routes that change the account rather than create or read jobs: an admin key only (issue 20). */
    adminOnly?: boolean;
  }
}

/** The sentence every admin-only operation's OpenAPI description starts with. */
export const ADMIN_ONLY_NOTE = 'Requires an admin key: a generate key is answered 403 insufficient_scope.';

export function requireAuth(req: FastifyRequest): AuthContext {
  if (!req.auth) throw authInvalid('Send your API key as "Authorization: Bearer esl_…".');
  return req.auth;
}

export function insufficientScope(what: string): EaselError {
  return new EaselError(403, 'insufficient_scope', `${what} needs an admin key; this is a generate key (it creates and reads jobs). Use an admin key, or ask the operator for one.`, {
    required_scope: 'admin',
  });
}

/**
 * Admin-only routes say so where clients read it: the first sentence of the operation's
 * description and its 403 answer. Must run before the routes are declared.
 */
function documentAdminOnly(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (!route.config?.adminOnly || !route.schema) return;
    const schema = route.schema as { description?: string; response?: Record<string, unknown> };
    schema.description = schema.description ? `${ADMIN_ONLY_NOTE} ${schema.description}` : ADMIN_ONLY_NOTE;
    schema.response = {
      ...schema.response,
      403: { ...Type.Ref('Error'), description: 'insufficient_scope: this is a generate key and the operation needs an admin key (or account_suspended).' },
    };
  });
}

/** Bearer-key authentication for every route not marked public, scope checks, and the failed-authentication limit. */
export function installAuth(app: FastifyInstance, keys: KeyLookup, failures: AuthFailureLimit | null): void {
  app.decorateRequest('auth', null);
  documentAdminOnly(app);
  // Callback style: on SQLite the key row is read synchronously, so the common case completes
  // without a promise; a refusal (which counts the address's failures) and PostgreSQL's read are async.
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.routeOptions.config?.public) return done();
    if (!req.routeOptions.url) return done(); // unknown route: the 404 handler answers
    // Every 401 counts against the client's address; past EASEL_AUTH_FAILURES_PER_MIN it is a 429.
    const refuse = (message: string) => {
      authFailure(failures, req, authInvalid(message)).then(done, done);
    };
    const header = req.headers.authorization;
    if (!header) return refuse('Missing API key. Send "Authorization: Bearer esl_…".');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return refuse('Malformed Authorization header; expected "Bearer esl_…".');
    const key = m[1]!;
    if (!KEY_RE.test(key)) return refuse('The API key is not valid.');
    const hash = hashApiKey(key);
    const accept = (row: KeyHolder | undefined): void => {
      // The lookup is by hash; the constant-time comparison guards against any index-timing signal.
      if (!row || !hashesMatch(row.key_hash, hash)) return refuse('The API key is not valid.');
      if (row.revoked_at != null) return refuse('This API key has been revoked.');
      if (row.status !== 'active') return done(new EaselError(403, 'account_suspended', 'This account is suspended; contact the operator.'));
      req.auth = { accountId: row.account_id, keyId: row.key_id, scope: row.scope, strictness: row.strictness };
      // GET /v1/keys shows when a key was last used; written at most once a minute per key, off the request path.
      const now = Date.now();
      if (row.last_used_at == null || now - Number(row.last_used_at) > LAST_USED_RESOLUTION_MS) {
        void keys.touch(row.key_id, now).catch(() => undefined);
      }
      done();
    };
    let found: ReturnType<KeyLookup['byHash']>;
    try {
      found = keys.byHash(hash);
    } catch (e) {
      return done(e as Error);
    }
    if (found instanceof Promise) found.then(accept, done);
    else accept(found);
  });
  // After the request limits (onRequest) count the request, before its body is read or validated:
  // a generate key learns it needs another key, not what is wrong with a body it may not send.
  app.addHook('preParsing', (req, _reply, payload, done) => {
    if (req.routeOptions.config?.adminOnly && req.auth && req.auth.scope !== 'admin') return done(insufficientScope(`${req.method} ${req.routeOptions.url}`));
    done(null, payload);
  });
}
