import crypto from 'node:crypto';
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Services } from '../app.js';
import type { Config } from '../config.js';
import { EaselError, authInvalid } from '../errors.js';
import { sendError } from './error-handler.js';
import { installUnreadBodyDrain, isDrainingUnreadBody } from './unread-body.js';
import { requestId as newRequestId } from '../util/ids.js';
import { observeHttp, registerStoreCollectors, renderMetrics } from '../observability/metrics.js';
import type { RateStore } from './rate-store.js';
import { installRequestLimits } from './request-limits.js';

/**
 * Abuse limits, security headers and observability for the HTTP server, in one place:
 *  - slow clients: a whole request must arrive within EASEL_REQUEST_TIMEOUT_MS (headers within
 *    min(10 s, that)); Node answers 408 and closes. Both clocks stop once the request is received,
 *    so a synchronous generation may wait far longer for its job;
 *  - a body answered before it was read (413, 401) is drained within bounds, then the connection
 *    closed, so the client reads the answer instead of a reset (src/api/unread-body.ts);
 *  - a per-key request rate (EASEL_RATE_LIMIT_PER_MIN) and a per-account one beside it
 *    (EASEL_RATE_LIMIT_ACCOUNT_PER_MIN) → 429 rate_limited + Retry-After, shared by every API
 *    process through Redis when EASEL_REDIS_URL is set (src/api/rate-store.ts);
 *  - security headers on every response; no-store on everything a key was needed for;
 *  - request metrics, GET /metrics, and one access log line per request.
 */

export const CSP = "default-src 'none'; frame-ancestors 'none'";
export const HSTS = 'max-age=63072000; includeSubDomains';
const HEADERS_TIMEOUT_CAP_MS = 10_000;
/** How long a refused body is drained at most (nginx lingers 5 s between reads, Apache 2 s). */
const REFUSED_BODY_DRAIN_MS = 5_000;
const KEY_IN_TEXT = /esl_[A-Za-z0-9]+/g;

/** Replaces anything shaped like an API key (a client that put its key in a URL) before it is logged. */
export function scrubKeys(text: string): string {
  return text.replace(KEY_IN_TEXT, 'esl_[redacted]');
}

/**
 * The HTTP logger's redaction: named paths instead of the root logger's `*.authorization` wildcard
 * (src/app.ts), which makes pino clone and walk every top-level field of every line. These are the
 * places a request's credentials can appear in what the HTTP logger is given. Not `req.*`: every
 * `req` is replaced by the serializer below, which carries no headers at all, and a path under
 * `req` made pino clone the access line's `req` on every request (~40 % of that line's cost).
 */
export const httpLogRedaction = {
  paths: ['headers.authorization', 'err.headers.authorization', 'err.authorization', 'err.config.headers.authorization'],
  censor: '[redacted]',
};

/** pino serializers for the HTTP logger: fastify's request fields, with keys scrubbed out of the URL. */
export const httpLogSerializers = {
  req(req: FastifyRequest) {
    return {
      method: req.method,
      url: scrubKeys(req.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket ? req.socket.remotePort : undefined,
    };
  },
};

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Payload Too Large', 431: 'Request Header Fields Too Large' };

/**
 * Errors Node raises before a request reaches fastify (timeouts, malformed HTTP, oversized
 * headers), answered in the one error shape with a request id and the usual headers.
 */
function clientErrorHandler(this: FastifyInstance, err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Its request was answered and the client hung up (or timed out) while the unread rest of the
  // body was drained: nothing was wrong with the HTTP and nothing is left to say.
  if (isDrainingUnreadBody(socket)) {
    socket.destroy();
    return;
  }
  const [status, code, message] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'The request was not received in time; send it faster or smaller.']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'bad_request', 'The request headers are too large.']
        : [400, 'bad_request', 'The request is not valid HTTP.'];
  const requestId = newRequestId();
  // The OpenAI-compatible routes answer in OpenAI's shape even here, when the request line was read.
  const line = (err as { rawPacket?: Buffer }).rawPacket?.toString('latin1', 0, 256) ?? '';
  const openai = /^[A-Z]+ \/v1\/images\//.test(line);
  const body = JSON.stringify(
    openai
      ? { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null, easel_code: code, request_id: requestId } }
      : { error: code, message, request_id: requestId },
  );
  this.log.info({ code: err.code, status, reqId: requestId }, 'client error');
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? http.STATUS_CODES[status]}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n' +
        `Content-Security-Policy: ${CSP}\r\nCache-Control: no-store\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Every response header the onRequest/onSend hooks would have set, for answers given before routing. */
function baseHeaders(reply: FastifyReply, req: FastifyRequest): void {
  reply.header('x-request-id', req.id);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('content-security-policy', CSP);
  reply.header('cache-control', 'no-store');
}

/** URLs the router refuses before any route or hook runs (bad percent-encoding, an over-long path parameter). */
function frameworkErrors(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const message =
    err.code === 'FST_ERR_MAX_PARAM_LENGTH'
      ? 'A path parameter is too long.'
      : err.code === 'FST_ERR_BAD_URL'
        ? 'The URL is not valid (malformed percent-encoding).'
        : 'The request could not be routed.';
  baseHeaders(reply, req);
  req.log.info({ code: err.code, status: 400 }, 'request rejected');
  sendError(reply, req, new EaselError(400, 'bad_request', message));
}

/**
 * Server options against slow clients. Node semantics (v20): `requestTimeout` bounds receiving
 * the entire request and `headersTimeout` its headers; both are checked every
 * `connectionsCheckingInterval` and stop applying once the request is complete, so they do not
 * cut a synchronous wait short. `connectionTimeout` (socket inactivity) must outlast that wait.
 */
export function httpServerOptions(config: Config): {
  connectionTimeout: number;
  requestTimeout: number;
  http: http.ServerOptions;
  clientErrorHandler: FastifyServerOptions['clientErrorHandler'];
  frameworkErrors: FastifyServerOptions['frameworkErrors'];
} {
  const requestTimeout = config.requestTimeoutMs;
  const headersTimeout = requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_CAP_MS, requestTimeout) : HEADERS_TIMEOUT_CAP_MS;
  return {
    requestTimeout,
    connectionTimeout: Math.max(config.syncTimeoutS * 1000, requestTimeout) + 60_000,
    http: {
      requestTimeout,
      headersTimeout,
      connectionsCheckingInterval: Math.max(250, Math.min(5000, Math.floor(headersTimeout / 4))),
    },
    clientErrorHandler: clientErrorHandler as FastifyServerOptions['clientErrorHandler'],
    frameworkErrors: frameworkErrors as FastifyServerOptions['frameworkErrors'],
  };
}

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function installRateLimit(s: Services, app: FastifyInstance, store: RateStore): void {
  const c = s.config;
  installRequestLimits(app, {
    account: c.rateLimitAccountPerMin > 0 ? { counter: store.counter('acct:'), max: c.rateLimitAccountPerMin } : null,
    // Named easel-rl:key:<key id> in Redis, as the per-key limiter of earlier releases named them.
    key: c.rateLimitPerMin > 0 ? { counter: store.counter('key:'), max: c.rateLimitPerMin } : null,
  });
}

export async function installHardening(app: FastifyInstance, s: Services, store: RateStore): Promise<void> {
  const hsts = (s.config.publicUrl ?? '').startsWith('https://');

  // Callback-style hooks (no promise per request): these run on every response.
  app.addHook('onSend', (req, reply, payload, done) => {
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', CSP);
    if (hsts) reply.header('strict-transport-security', HSTS);
    // Anything a key was needed for is private to that key: never stored by a shared cache.
    const isPublic = req.routeOptions.config?.public === true;
    if (!reply.hasHeader('cache-control') && (!isPublic || reply.statusCode >= 400)) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  // fastify's own request logging is off (two lines per request); this is the one access line.
  app.addHook('onResponse', (req, reply, done) => {
    const ms = reply.elapsedTime;
    observeHttp(req.method, req.routeOptions.url, reply.statusCode, ms / 1000);
    req.log.info({ req, res: { statusCode: reply.statusCode }, responseTime: ms }, 'request completed');
    done();
  });

  installUnreadBodyDrain(app, { maxBytes: s.config.refusedBodyDrainBytes, maxMs: REFUSED_BODY_DRAIN_MS, requestTimeoutMs: s.config.requestTimeoutMs });

  installRateLimit(s, app, store);

  registerStoreCollectors(s.db, s.queue);
  app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (req, reply) => {
    const token = s.config.metricsToken;
    if (token) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
      if (!m || !sameSecret(m[1]!, token)) throw authInvalid('GET /metrics needs "Authorization: Bearer <EASEL_METRICS_TOKEN>".');
    }
    const { contentType, body } = await renderMetrics();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
}
