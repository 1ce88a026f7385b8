import type { FastifyInstance } from 'fastify';
import { EaselError } from '../errors.js';

/**
 * The deepest nesting a JSON body may have: 64 levels of objects and arrays (the root is level 1).
 * Easel's own bodies need fewer than 8 (a story's `characters[].states.<name>.appearance`); the
 * limit is there so that nothing downstream that recurses — validation, serialisation, a log line —
 * is ever handed a 50 000-deep value (issue 20: a 300 KB body overflowed `JSON.stringify`).
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The nesting depth of a parsed JSON value, counted without recursion (an explicit stack), and
 * stopping as soon as it passes `limit`: the check itself can never overflow the call stack.
 */
export function jsonDepthExceeds(value: unknown, limit = MAX_JSON_DEPTH): boolean {
  if (value === null || typeof value !== 'object') return false;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > limit) return true;
    const children = Array.isArray(v) ? v : Object.values(v as Record<string, unknown>);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return false;
}

export const tooDeep = () =>
  new EaselError(400, 'bad_request', `The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels of objects and arrays.`, {
    max_depth: MAX_JSON_DEPTH,
    fields: [{ path: 'body', message: `must be nested at most ${MAX_JSON_DEPTH} levels deep` }],
  });

/**
 * Replaces fastify's JSON parser with the same parser (secure-json-parse, with the server's
 * prototype-poisoning settings) followed by the depth check, so every JSON body of every route
 * is checked before validation or a handler sees it.
 */
export function installJsonDepthLimit(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    parse(req, body as string, (err: Error | null, value?: unknown) => {
      if (err) return done(err, undefined);
      if (jsonDepthExceeds(value)) return done(tooDeep(), undefined);
      done(null, value);
    });
  });
}
