/**
 * Opaque page cursors (`next_cursor` / `starting_after`) of the lists whose position is more than
 * one id. A cursor is base64url of `<kind>.<field>.<field>…`: the sort key of the last row of a
 * page. The kind letter stops a cursor of one list from being read as a position in another, and
 * the text stays readable to us (and compact, ≤ 130 characters) while clients treat it as opaque,
 * so a list can change its key later without changing its contract.
 *
 * GET /v1/jobs needs none of this: its key is the job id (UUIDv7), sent as it is.
 */
export type CursorKind = 'l' | 'i' | 'd';

const TOKEN = /^[A-Za-z0-9_-]{1,200}$/;

export function encodeCursor(kind: CursorKind, fields: readonly (string | number)[]): string {
  return Buffer.from([kind, ...fields].join('.'), 'utf8').toString('base64url');
}

/** The fields of a cursor of `kind` with exactly `arity` fields, or null when it is not one (never throws). */
export function decodeCursor(token: string, kind: CursorKind, arity: number): string[] | null {
  if (!TOKEN.test(token)) return null;
  const text = Buffer.from(token, 'base64url').toString('utf8');
  // Round-trip check: base64url decoding is lenient (it skips what it cannot read), a cursor is exact.
  if (Buffer.from(text, 'utf8').toString('base64url') !== token) return null;
  const [k, ...fields] = text.split('.');
  if (k !== kind || fields.length !== arity || fields.some((f) => f.length === 0)) return null;
  return fields;
}

/** A non-negative safe integer field, or null. */
export function intField(s: string): number | null {
  if (!/^\d{1,16}$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/**
 * Where a page starts: just after the sort key `after` (the cursor path: a keyset query, no
 * OFFSET), or, without one, `offset` rows in. One row more than `limit` is read, so `more` says
 * whether a next page exists without a second query.
 */
export interface PageAt<K> {
  limit: number;
  offset: number;
  after: K | undefined;
}

/** A page of rows, the count of the whole filtered list (not only what follows the cursor), and whether rows follow. */
export interface PageOf<R> {
  rows: R[];
  total: number;
  more: boolean;
}

/** The first `limit` of `limit + 1` rows read, and whether the extra one was there. */
export function trimPage<R>(rows: R[], limit: number): { rows: R[]; more: boolean } {
  return rows.length > limit ? { rows: rows.slice(0, limit), more: true } : { rows, more: false };
}
