import { Type } from 'typebox';
import { Uuid } from './common.js';

/**
 * Cursor pagination (Easel): every list answers `next_cursor`, and takes it back as
 * `starting_after`. A cursor is a position in the list's order, so rows inserted meanwhile
 * cannot shift a walk the way they shift `offset` (kept for Depicta clients).
 */
export const NextCursor = Type.Union([Type.String({ minLength: 1, maxLength: 200 }), Type.Null()], {
  description: 'Easel: pass as starting_after to get the page after this one; null on the last page.',
});

const AFTER = 'Easel: the next_cursor of the previous page; the page starts just after that position (never combined with a non-zero offset: 400).';

/** GET /v1/jobs: the cursor is the id of the last job of the previous page (any job id works as a position). */
export const StartingAfterJob = Type.Optional({ ...Uuid, description: `${AFTER} For jobs it is the last job's id.` });

/** The other lists: an opaque token (base64url) that only this list's next_cursor produces. */
export const StartingAfterToken = Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: `${AFTER} An opaque token: a malformed one is 400.` }));

/** What a page's offset field says on a cursor page. */
export const PAGE_OFFSET_NOTE = 'The offset of this page as requested: 0 on a cursor page (starting_after), whose place in the list is not counted.';
