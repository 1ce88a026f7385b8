import type { FastifyRequest, FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from './validation.js';
import { badRequest } from '../errors.js';

/**
 * For routes that take a JSON body or a multipart form (edit, combine, batches): the JSON schema
 * validates JSON bodies as usual; a multipart body is read by the handler and validated there
 * against its own schema (the multipart schema only documents the form).
 */
export const jsonOrMultipartCompiler =
  (): FastifySchemaCompiler<unknown> =>
  (opts) =>
    opts.httpPart === 'body' && opts.contentType === 'multipart/form-data' ? () => true : validatorCompiler(opts);

/**
 * The JSON body of such a route (the route schema validated it). The schema is keyed by content
 * type, so a body of another type (text/plain arrives as a string) never met it: refused here.
 * `multipart` says what the form alternative holds, for the message.
 */
export function jsonObjectBody(req: FastifyRequest, multipart = 'multipart/form-data'): Record<string, unknown> {
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
    throw badRequest(`Send a JSON object (Content-Type: application/json) or ${multipart}.`);
  }
  return req.body as Record<string, unknown>;
}
