import type { FastifyInstance } from 'fastify';
import { EaselError } from '../errors.js';

/**
 * Requests that arrive while the server shuts down (on a kept-alive connection) answer 503
 * `service_unavailable` in the one error shape, with a request id and `Retry-After`, and close
 * their connection. Fastify's own `return503OnClosing` writes a body of its own shape straight to
 * the socket, past every hook: a client, and the OpenAPI document, would see an answer nothing
 * describes.
 */
export function installClosingGate(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_req, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close');
    done(new EaselError(503, 'service_unavailable', 'The server is shutting down; retry the request (another instance may answer).', undefined, { 'retry-after': '1' }));
  });
}
