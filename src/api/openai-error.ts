import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EaselError } from '../errors.js';

/**
 * The OpenAI error shape and statuses, for the routes that speak OpenAI's wire format
 * (`config: { errorShape: 'openai' }`, /v1/images/*): `{error: {message, type, param, code}}`, plus
 * Easel's own code and the request id beside them. OpenAI's SDKs pick their typed error by status:
 * 401 AuthenticationError, 400 BadRequestError, 429 RateLimitError. So a moderation refusal (Easel
 * 403/451) is 400 `content_policy_violation`, an uncovered price (Easel 402) is 429
 * `insufficient_quota`, and a value over a limit (Easel 422) is 400.
 */
export interface OpenAIErrorMapping {
  status: number;
  type: string;
  code: string | null;
}

export function openAIErrorOf(err: EaselError): OpenAIErrorMapping {
  if (err.code === 'content_rejected') return { status: 400, type: 'invalid_request_error', code: 'content_policy_violation' };
  if (err.code === 'credit_insufficient' || err.status === 402) return { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' };
  if (err.status === 429) return { status: 429, type: 'requests', code: 'rate_limit_exceeded' };
  if (err.status === 401) return { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' };
  if (err.status === 422) return { status: 400, type: 'invalid_request_error', code: err.code === 'validation_failed' ? null : err.code };
  if (err.status >= 500) return { status: err.status, type: 'server_error', code: err.code };
  return { status: err.status, type: 'invalid_request_error', code: err.code === 'bad_request' ? null : err.code };
}

/** The request field an error is about: the first of details.fields, else details.field. */
function paramOf(err: EaselError): string | null {
  const fields = err.details?.fields;
  if (Array.isArray(fields) && fields.length > 0 && typeof (fields[0] as { path?: unknown }).path === 'string') return (fields[0] as { path: string }).path;
  return typeof err.details?.field === 'string' ? err.details.field : null;
}

export function sendOpenAIError(reply: FastifyReply, req: FastifyRequest, err: EaselError): FastifyReply {
  const m = openAIErrorOf(err);
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  // OpenAI's SDKs retry a 429 unless told not to: more credit will not arrive by retrying.
  if (m.code === 'insufficient_quota') reply.header('x-should-retry', 'false');
  const error: Record<string, unknown> = { message: err.message, type: m.type, param: paramOf(err), code: m.code, easel_code: err.code, request_id: req.id };
  if (err.details && Object.keys(err.details).length > 0) error.details = err.details;
  let text: string;
  try {
    text = JSON.stringify({ error });
  } catch {
    // Details that cannot be serialised are left out; the error itself always is.
    delete error.details;
    text = JSON.stringify({ error });
  }
  return reply.code(m.status).type('application/json; charset=utf-8').send(text);
}
