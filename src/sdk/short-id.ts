/**
 * A job's short id for people and file names: the last 8 hex digits of its UUIDv7, which are
 * random. The first 8 are the time prefix, shared by every job made within about a minute.
 */
export const shortId = (id: string): string => id.replace(/-/g, '').slice(-8);
