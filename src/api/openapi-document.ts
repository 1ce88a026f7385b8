/**
 * What every operation of the served OpenAPI document can answer besides its own responses.
 * Routes declare the statuses their handler decides (402, 404, 409, 451, …); the answers that come
 * from the server around them are added here, from the facts the document already holds, so no
 * route can forget one:
 *  - every operation: 500 (a bug) and 503 (shutting down, a dependency down);
 *  - one that needs a key: 401, 403 (`account_suspended`) and 429 (the per-key and per-account
 *    rate limits, and failed authentications from one address);
 *  - one with parameters or a body: 400 (malformed, wrong type, unknown field);
 *  - one whose parameters or body have limits (maximum, maxLength, maxItems, …): 422;
 *  - one with a body: 413 (over EASEL_MAX_BODY_BYTES) and 408 (not received in time).
 * And on every response the headers the server always sends: `X-Request-Id`, plus `Retry-After`
 * on every 429 (required) and 503 (when known).
 * test/helpers/server.ts has every test server check each response it gives against this
 * document (src/api/response-check.ts), so a status or header missing here fails the suite.
 */

import { MAX_JSON_DEPTH } from './json-depth.js';

type Json = Record<string, any>;

const ERROR_REF = { $ref: '#/components/schemas/Error' };
/** The OpenAI-compatible routes (/v1/images/*) answer errors in OpenAI's shape, the generic ones included. */
const OPENAI_ERROR_REF = { $ref: '#/components/schemas/OpenAIError' };
const LIMIT_KEYWORDS = ['maximum', 'minimum', 'exclusiveMaximum', 'exclusiveMinimum', 'maxLength', 'minLength', 'maxItems', 'minItems', 'maxProperties'];
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

const GENERIC: Record<string, string> = {
  '400': `bad_request: malformed JSON, a JSON body nested deeper than ${MAX_JSON_DEPTH} levels (details.max_depth), a wrong type, an unknown field or parameter.`,
  '401': 'auth_invalid: the API key is missing, unknown or revoked.',
  '403': 'account_suspended (and, where the operation says so, content_rejected, forbidden or insufficient_scope).',
  '408': 'request_timeout: the request was not received within EASEL_REQUEST_TIMEOUT_MS.',
  '413': 'payload_too_large: the body is over the limit.',
  '422': 'validation_failed: a well-formed value over a limit (details.fields names it).',
  '429': 'rate_limited: over the per-key or per-account request rate (details.limit_scope key or account), too many failed authentications from this address (address; a valid key is not refused), for creates over EASEL_MAX_QUEUED_JOBS jobs of the account waiting to start, or for POST /v1/upload over the account\'s daily upload quota (details.quota upload_count or upload_bytes, until the next UTC midnight); wait Retry-After seconds.',
  '500': 'internal_error: a bug; quote the request id.',
  '503': 'service_unavailable: shutting down, or a dependency is unavailable (details.dependency: database, storage, disk or network); Retry-After says when to retry.',
};

/** The same answers on the OpenAI-compatible routes, in OpenAI's statuses and codes (src/api/openai-error.ts). */
const OPENAI_GENERIC: Record<string, string> = {
  '400': 'invalid_request_error: malformed, a wrong type, an unknown field, a value over a limit (param names it), content_policy_violation.',
  '401': 'invalid_api_key: the API key is missing, unknown or revoked.',
  '403': 'account_suspended.',
  '429': 'rate_limit_exceeded (Retry-After) or insufficient_quota (the balance does not cover the images; X-Should-Retry: false).',
};

const REQUEST_ID = { description: 'The request id (echoed when the client sent a sane one); also in error bodies as request_id.', required: true, schema: { type: 'string' } };
const retryAfter = (required: boolean) => ({
  description: 'Seconds to wait before retrying.',
  required,
  schema: { type: 'string', pattern: '^\\d+$' },
});

function hasLimits(schema: unknown, depth = 0): boolean {
  if (!schema || typeof schema !== 'object' || depth > 20) return false;
  if (LIMIT_KEYWORDS.some((k) => k in (schema as Json))) return true;
  return Object.values(schema as Json).some((v) => (Array.isArray(v) ? v.some((x) => hasLimits(x, depth + 1)) : hasLimits(v, depth + 1)));
}

/** Component schemas resolved by name, so a body given as a $ref is searched for limits too. */
function deref(schema: unknown, doc: Json): unknown {
  const ref = (schema as Json | undefined)?.$ref;
  return typeof ref === 'string' ? doc.components?.schemas?.[ref.replace('#/components/schemas/', '')] : schema;
}

function statusesOf(op: Json, doc: Json): string[] {
  const isPublic = Array.isArray(op.security) && op.security.length === 0;
  const params: Json[] = op.parameters ?? [];
  const bodies = Object.values<Json>(op.requestBody?.content ?? {}).map((c) => deref(c.schema, doc));
  const out = ['500', '503'];
  if (!isPublic) out.push('401', '403', '429');
  if (params.length > 0 || bodies.length > 0) out.push('400');
  if ([...params.map((p) => p.schema), ...bodies].some((s) => hasLimits(s))) out.push('422');
  if (bodies.length > 0) out.push('413', '408');
  return out;
}

/** Adds the server-wide statuses and headers to every operation (fastify-swagger's transformObject). */
export function completeDocument(doc: Json): Json {
  for (const item of Object.values<Json>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method] as Json | undefined;
      if (!op) continue;
      const responses: Json = (op.responses ??= {});
      const openai = Object.values<Json>(responses).some((r) => r.content?.['application/json']?.schema?.$ref === OPENAI_ERROR_REF.$ref);
      for (const status of statusesOf(op, doc)) {
        responses[status] ??= { description: openai ? OPENAI_GENERIC[status] ?? GENERIC[status] : GENERIC[status], content: { 'application/json': { schema: openai ? OPENAI_ERROR_REF : ERROR_REF } } };
      }
      for (const [status, response] of Object.entries<Json>(responses)) {
        response.headers = { 'X-Request-Id': REQUEST_ID, ...(response.headers ?? {}) };
        // OpenAI's 429 insufficient_quota (Easel's 402) has nothing to wait for; rate_limit_exceeded sends it.
        if (status === '429') response.headers['Retry-After'] = retryAfter(!openai);
        if (status === '503') response.headers['Retry-After'] ??= retryAfter(false);
      }
      op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
    }
  }
  return doc;
}
