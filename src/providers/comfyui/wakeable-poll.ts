/*
 * vendor/poll-until.ts's loop, with one wake-up: when the WebSocket says the prompt is done, the
 * /history poll runs at once instead of after the current (up to 4 s) wait. The wake cuts one
 * sleep only, so a history entry that is not there yet cannot turn the loop into a busy one.
 */
import type { Deadline } from '../vendor/deadline.js';
import { pollDelayMs, type PollSchedule } from '../vendor/poll-until.js';

export async function pollUntilOrWoken<T>(deadline: Deadline, schedule: PollSchedule, wake: Promise<void> | null, check: (attempt: number) => Promise<T | undefined>): Promise<T> {
  let pending = wake;
  for (let attempt = 1; ; attempt++) {
    deadline.check();
    const v = await deadline.race(check(attempt));
    if (v !== undefined) return v;
    const ms = pollDelayMs(attempt, schedule);
    if (pending && (await sleepOrWake(deadline, ms, pending))) pending = null;
    else if (!pending) await deadline.sleep(ms);
  }
}

/** true when woken; the sleep's timer is cleared either way (nothing left pending). */
function sleepOrWake(deadline: Deadline, ms: number, wake: Promise<void>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const slept = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), Math.min(ms, deadline.remainingMs()))));
  return deadline.race(Promise.race([slept, wake.then(() => true)])).finally(() => clearTimeout(timer));
}
