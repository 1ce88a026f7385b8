/**
 * Work isolation (docs/DECISIONS.md, "Work isolation"): the queue has two lanes, each served by its
 * own worker slots. `default` holds paid generation work (images, edits, stories); `process` holds
 * the free processing operations (`POST /v1/process/{op}`), so free work never occupies a slot paid
 * work could use, and the reverse. Each lane has its own per-account running limit and its own
 * stride schedule: a lane's schedule row is keyed by `schedKey` (the default lane keeps the bare
 * account id, so rows written before lanes existed need no migration).
 */
export type Lane = 'default' | 'process';

export const LANES: readonly Lane[] = ['default', 'process'];

/** Which lane a job's operation runs in. */
export function laneOf(operation: string): Lane {
  return operation.startsWith('process_') ? 'process' : 'default';
}

const PREFIX: Record<Lane, string> = { default: '', process: 'process/' };

/** The `sched_accounts.account_id` of an account's schedule row in a lane. */
export function schedKey(lane: Lane, accountId: string): string {
  return PREFIX[lane] + accountId;
}

/** The lane and account a schedule row belongs to (account ids never contain '/'). */
export function parseSchedKey(key: string): { lane: Lane; accountId: string } {
  const slash = key.indexOf('/');
  if (slash < 0) return { lane: 'default', accountId: key };
  return { lane: key.slice(0, slash) as Lane, accountId: key.slice(slash + 1) };
}

/** A LIKE pattern matching only the schedule rows of a lane (the default lane: rows without a prefix). */
export function laneRows(lane: Lane): { like: string; negate: boolean } {
  return lane === 'default' ? { like: '%/%', negate: true } : { like: `${PREFIX[lane]}%`, negate: false };
}
