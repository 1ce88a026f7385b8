import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { EaselError } from '../errors.js';
import { describeValidation } from './validation.js';
import { sendOpenAIError } from './openai-error.js';
import { dependencyFault, type Dependency } from '../util/dependency-fault.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** `openai`: this route answers errors in OpenAI's shape and statuses (src/api/openai-error.ts). */
    errorShape?: 'openai';
  }
}

export function sendError(reply: FastifyReply, req: FastifyRequest, err: EaselError): FastifyReply {
  if (req.routeOptions?.config?.errorShape === 'openai') return sendOpenAIError(reply, req, err);
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  const body: Record<string, unknown> = { error: err.code, message: err.message };
  if (err.details && Object.keys(err.details).length > 0) body.details = err.details;
  body.request_id = req.id;
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorJson(body));
}

/**
 * An error body as JSON text that is always produced: details that cannot be serialised (too
 * deep, cyclic, a BigInt) are left out rather than turning a 4xx into a failure of the error
 * handler itself.
 */
export function errorJson(body: Record<string, unknown>): string {
  try {
    return JSON.stringify(body);
  } catch {
    const { details: _dropped, ...rest } = body;
    return JSON.stringify(rest);
  }
}

/** Maps every failure, ours or the framework's, onto the one error shape. Nothing internal leaks. */
export function toEaselError(err: FastifyError & { validation?: unknown[]; validationContext?: string }): EaselError {
  if (err instanceof EaselError) return err;
  if (err.validation) {
    const part = err.validationContext ?? 'body';
    const { status, fields } = describeValidation(err.validation as never, part);
    const first = fields[0];
    const msg = first ? `${first.path} ${first.message}${fields.length > 1 ? ` (and ${fields.length - 1} more)` : ''}.` : 'The request is invalid.';
    return new EaselError(status, status === 422 ? 'validation_failed' : 'bad_request', msg, { fields });
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new EaselError(413, 'payload_too_large', 'The request body is larger than this endpoint accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new EaselError(400, 'bad_request', 'Unsupported Content-Type; send application/json.');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new EaselError(400, 'bad_request', 'The JSON body is empty.');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new EaselError(400, 'bad_request', 'The body is not valid JSON.');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new EaselError(400, 'bad_request', 'Content-Length does not match the body.');
  }
  const fromStatic = staticFileError(err);
  if (fromStatic) return fromStatic;
  if (err instanceof SyntaxError || (err as { statusCode?: number }).statusCode === 400) {
    return new EaselError(400, 'bad_request', 'The body is not valid JSON.');
  }
  if ((err as { statusCode?: number }).statusCode === 413) return new EaselError(413, 'payload_too_large', 'The request body is too large.');
  const fault = dependencyFault(err);
  if (fault) return dependencyUnavailable(fault.dependency, fault.retryAfterS);
  return new EaselError(500, 'internal_error', 'An internal error occurred. It has been logged; retry later or quote the request id.');
}

/**
 * The refusals of @fastify/send (signed files, the dashboard's files) arrive as http-errors with a
 * status: a Range past the end (416, with `Content-Range: bytes *\/size`), a failed If-Match or
 * If-Unmodified-Since (412), a path it will not serve (403: a dotfile or `..`; answered 404, as a
 * file that is not there). Without this they would fall through to a 500.
 */
function staticFileError(err: { status?: unknown; statusCode?: unknown; headers?: unknown; name?: string }): EaselError | null {
  const status = typeof err.status === 'number' ? err.status : null;
  if (status === null || status !== err.statusCode) return null;
  switch (status) {
    case 416: {
      const range = (err.headers as Record<string, string> | undefined)?.['Content-Range'];
      return new EaselError(416, 'range_not_satisfiable', 'The requested Range lies outside the file.', undefined, range ? { 'content-range': range } : undefined);
    }
    case 412:
      return new EaselError(412, 'precondition_failed', 'A precondition (If-Match or If-Unmodified-Since) does not hold for this file.');
    case 400:
      return new EaselError(400, 'bad_request', 'The file path is malformed.');
    case 403:
    case 404:
      return new EaselError(404, 'not_found', 'No such file.');
  }
  return null;
}

const WHAT: Record<Dependency, string> = {
  database: 'The database is unavailable right now (restarting, unreachable or busy)',
  storage: 'The image storage is unavailable right now',
  disk: 'The server is out of disk space',
  network: 'A service this request needs is unreachable right now',
};

/** 503 for a dependency that is down: nothing about the request is wrong; the same request later will work. */
export function dependencyUnavailable(dependency: Dependency, retryAfterS: number): EaselError {
  return new EaselError(503, 'service_unavailable', `${WHAT[dependency]}; retry in ${retryAfterS} s.`, { dependency, retry_after_s: retryAfterS }, {
    'retry-after': String(retryAfterS),
  });
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const e = toEaselError(err);
    if (e.status === 503 && e.details?.dependency) req.log.warn({ err: (err as Error).message, dependency: e.details.dependency }, 'dependency unavailable');
    else if (e.status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: e.code, status: e.status }, 'request rejected');
    return sendError(reply, req, e);
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, req, new EaselError(404, 'not_found', `No route ${req.method} ${req.url.split('?')[0]}.`)),
  );
}
