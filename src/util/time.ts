/** Wire timestamps are RFC 3339 UTC at second precision, as in the contract's examples. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
