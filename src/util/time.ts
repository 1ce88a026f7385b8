import { BoundedMemo } from './bounded-memo.js';

/** Wire timestamps are RFC 3339 UTC at second precision, as in the contract's examples. */
export function isoSeconds(ms: number): string {
  return formatted.get(Math.floor(ms / 1000), (s) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'));
}

const formatted = new BoundedMemo<number, string>();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
