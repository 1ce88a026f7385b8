import { EaselError } from '../errors.js';

/**
 * Paging parameters common to every list: `limit`, and either `offset` (Depicta's, kept for its
 * clients) or `starting_after` (Easel's cursor, a position that concurrent inserts cannot shift).
 * Both at once are contradictory, so refused rather than one silently winning.
 */
export interface PageRequest {
  limit: number;
  offset: number;
  startingAfter: string | undefined;
}

/** A 400 in the one error shape, naming the query parameter as schema validation would. */
export function badCursor(message: string, field = 'starting_after'): EaselError {
  const path = `querystring.${field}`;
  return new EaselError(400, 'bad_request', `${path} ${message}.`, { fields: [{ path, message }] });
}

export function pageRequest(q: { limit?: number; offset?: number; starting_after?: string }, defaultLimit: number): PageRequest {
  const offset = q.offset ?? 0;
  if (q.starting_after !== undefined && offset !== 0) {
    throw badCursor('must not be combined with a non-zero offset (use one or the other)', 'offset');
  }
  return { limit: q.limit ?? defaultLimit, offset, startingAfter: q.starting_after };
}

/** The decoded `starting_after` of a list with opaque cursors (undefined without one); 400 when it is not one of that list's. */
export function cursorOf<K>(startingAfter: string | undefined, decode: (token: string) => K | null, list: string): K | undefined {
  if (startingAfter === undefined) return undefined;
  const k = decode(startingAfter);
  if (k === null) throw badCursor(`is not a cursor of this list (send back a next_cursor of ${list})`);
  return k;
}
