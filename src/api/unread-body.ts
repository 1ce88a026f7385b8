import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/**
 * What happens to a request body the server answered without reading: a 413 over the body limit
 * (decided from Content-Length before a byte of the body is read), a refused upload, a 401 sent
 * before the body was wanted.
 *
 * HTTP allows answering early and closing, but closing a TCP socket that still has unread input
 * makes the kernel send a reset, and a client still writing its body then fails with EPIPE or
 * ECONNRESET, often before it has read the answer it was sent (RFC 9112 §9.6). Node destroyed the
 * socket as soon as fastify's `Connection: close` 413 was flushed, so fetch, the SDK and node:http
 * clients saw a connection error instead of the 413, at random.
 *
 * So the connection is closed in stages, as RFC 9112 §9.6 describes: the answer (still
 * `Connection: close`) and a half-close (FIN) go out, and the rest of the body is read and thrown
 * away (never kept) for up to `maxBytes`; past that, reading stops, so a client still writing
 * stalls on TCP flow control rather than being reset while its answer waits to be read. The socket
 * is destroyed when the client hangs up (curl, undici and node:http do once they have the answer)
 * or at `maxMs`, whichever comes first.
 */
export interface UnreadBodyLimits {
  /** Bytes of an unread body read and discarded after the answer; then reading stops (0: at once). */
  maxBytes: number;
  /** The longest the socket stays open for it after the answer. */
  maxMs: number;
  /** EASEL_REQUEST_TIMEOUT_MS: the drain ends before it, or Node would answer the same request again with a 408. */
  requestTimeoutMs: number;
}

/** How a drain ended: the body arrived whole, the client hung up, or the time bound closed the socket. */
type Outcome = 'complete' | 'client closed' | 'timeout';

/** Sockets whose request is answered while the rest of its body is drained (see isDrainingUnreadBody). */
const draining = new WeakSet<Socket>();

/**
 * True while a socket's request has been answered and its body is being drained: a client that
 * hangs up mid-body (curl, once it has read the 413) or a request timeout then needs no second
 * answer (hardening.ts's clientErrorHandler), only the socket closed.
 */
export function isDrainingUnreadBody(socket: Socket): boolean {
  return draining.has(socket);
}

/** A body was announced (a length or chunked framing); requests without one are complete with their headers. */
function declaresBody(raw: IncomingMessage): boolean {
  return Number(raw.headers['content-length']) > 0 || raw.headers['transfer-encoding'] !== undefined;
}

export function installUnreadBodyDrain(app: FastifyInstance, limits: UnreadBodyLimits): void {
  app.addHook('onSend', (req, reply, payload, done) => {
    const raw = req.raw;
    // Only a client's connection: requests made with app.inject (POST /v1/quote runs the create
    // route that way) have a stand-in socket and nothing on the wire to drain.
    if (raw.socket instanceof Socket && !raw.complete && declaresBody(raw) && !raw.socket.destroyed) {
      // fastify's body parser already says so on its refusals; any other early answer too: the
      // client must stop sending and not reuse the connection.
      reply.header('connection', 'close');
      const left = limits.requestTimeoutMs > 0 ? limits.requestTimeoutMs - reply.elapsedTime - 250 : Infinity;
      discard(raw, reply.raw, limits.maxBytes, Math.max(0, Math.min(limits.maxMs, left)), req.log);
    }
    done(null, payload);
  });
}

/**
 * Drains the rest of the body, counting it. Reading starts now, before the answer is written, so
 * that Node does not dump the body itself (a dumped body is dropped inside the parser, uncounted
 * and unbounded); the bounds apply once the answer is flushed ('finish').
 */
function discard(raw: IncomingMessage, res: ServerResponse, maxBytes: number, maxMs: number, log: FastifyBaseLogger): void {
  const socket: Socket = raw.socket;
  let bytes = 0;
  let answered = false;
  let limitReached = false;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;

  // After a "Connection: close" answer Node calls socket.destroySoon(): end, then destroy once
  // flushed. The destroy, with body bytes unread, is the reset. For this socket only, the answer
  // ends with a half-close; the destroy is this drain's to do.
  socket.destroySoon = () => socket.end();
  const restore = () => Reflect.deleteProperty(socket, 'destroySoon');

  const stop = (outcome: Outcome) => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    draining.delete(socket);
    raw.removeListener('data', onData);
    socket.removeListener('close', onClose);
    restore();
    // Whole body read: close as Node would have (nothing unread, so no reset). Otherwise the time is up.
    if (outcome === 'complete' && answered) socket.destroySoon();
    if (outcome === 'timeout') socket.destroy();
    log.info({ discarded_bytes: bytes, outcome, limit_reached: limitReached }, 'unread request body discarded');
  };
  const stopReading = () => {
    limitReached = true;
    raw.pause();
  };
  const onData = (chunk: Buffer) => {
    bytes += chunk.length;
    if (answered && bytes > maxBytes && !limitReached) stopReading();
  };
  // Node stops tracking a request once its answer is sent, so a client hanging up shows on the socket only.
  const onClose = () => stop(raw.complete ? 'complete' : 'client closed');

  draining.add(socket);
  raw.on('data', onData);
  raw.once('end', () => stop('complete'));
  socket.once('close', onClose);
  // Whoever was reading the body (a multipart parser) has answered; a reader that stopped pulling
  // must not hold the stream paused until the time bound.
  raw.unpipe();
  raw.resume();
  res.once('finish', () => {
    answered = true;
    if (ended) return;
    timer = setTimeout(() => stop('timeout'), maxMs);
    timer.unref();
    if (bytes > maxBytes) stopReading();
  });
}
