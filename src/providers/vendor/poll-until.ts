/*
 * The submit-then-poll loop of the asynchronous vendors and the self-hosted image servers: a
 * jittered, growing interval, all inside one Deadline.
 */
import type { Deadline } from './deadline.js';

export interface PollSchedule {
  /** First wait between polls. */
  initialMs: number;
  /** The wait grows by `factor` per poll up to this. */
  maxMs: number;
  factor: number;
  /** ± this fraction of random jitter, so many jobs started together do not poll in lockstep. */
  jitter: number;
}

export const DEFAULT_POLL_SCHEDULE: PollSchedule = { initialMs: 500, maxMs: 4000, factor: 1.5, jitter: 0.25 };

export function pollDelayMs(attempt: number, s: PollSchedule, random: () => number = Math.random): number {
  const base = Math.min(s.maxMs, s.initialMs * s.factor ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base * (1 + s.jitter * (2 * random() - 1))));
}

/**
 * Calls `check` until it returns something other than `undefined`, sleeping a jittered, growing
 * interval in between, all inside `deadline`: when it fires the loop ends with the deadline's
 * failure (a retryable `timeout`, or the caller's abort). Errors thrown by `check` end the loop.
 */
export async function pollUntil<T>(deadline: Deadline, schedule: PollSchedule, check: (attempt: number) => Promise<T | undefined>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    deadline.check();
    const v = await deadline.race(check(attempt));
    if (v !== undefined) return v;
    await deadline.sleep(pollDelayMs(attempt, schedule));
  }
}
