/**
 * Walking a list page by page with its cursor: each page's `next_cursor` goes back as
 * `starting_after` until it is null. A cursor is a position in the list's order, so rows the
 * account creates meanwhile cannot make the walk repeat or skip one, as they can with `offset`.
 * `read` gets undefined for the first page (the caller's own query places it) and a cursor after.
 */
export async function* cursorPages<P extends { next_cursor: string | null }>(read: (cursor: string | undefined) => Promise<P>): AsyncGenerator<P> {
  let cursor: string | undefined;
  for (;;) {
    const page = await read(cursor);
    yield page;
    // Absent (a server without cursors) ends the walk too, rather than re-reading the first page forever.
    if (!page.next_cursor) return;
    cursor = page.next_cursor;
  }
}

/** The query of one page of a walk: the caller's for the first, then its filters from the cursor on (no offset: the two do not combine). */
export function pageQuery<Q extends { offset?: number; starting_after?: string }>(query: Q, cursor: string | undefined): Q {
  if (cursor === undefined) return query;
  const { offset: _offset, ...filters } = query;
  return { ...filters, starting_after: cursor } as Q;
}
