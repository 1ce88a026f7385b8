import { v7 } from 'uuid';

/** UUIDv7: time-ordered, so "newest first" is an index scan on the primary key. */
export const newId = (): string => v7();

export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
