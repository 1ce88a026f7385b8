import type { Redis } from 'ioredis';

/** Hits counted in one fixed window, and how long until that window ends. */
export interface WindowCount {
  count: number;
  resetMs: number;
}

/**
 * Fixed-window counters by name (the per-account request rate, failed authentications per
 * address). `hit` answers null when the shared store cannot be reached: the caller lets the
 * request through (every limit fails open), so a lost Redis never stops the API.
 */
export interface WindowCounter {
  /** Counted in this process: answered at once (no promise on the request path); in Redis: a round trip. */
  hit(name: string): WindowCount | null | Promise<WindowCount | null>;
}

/** Names held in memory at most: failed authentications may come from many addresses (an IPv6 /64 each). */
const MAX_NAMES = 100_000;

/** Counts in this process only (no EASEL_REDIS_URL). */
export function memoryWindowCounter(windowMs: number): WindowCounter {
  const windows = new Map<string, { count: number; start: number }>();
  const makeRoom = (now: number) => {
    for (const [name, w] of windows) if (now - w.start >= windowMs) windows.delete(name);
    // Still full of live windows: drop the oldest (a Map iterates in insertion order).
    for (const name of windows.keys()) {
      if (windows.size < MAX_NAMES) break;
      windows.delete(name);
    }
  };
  return {
    hit(name) {
      const now = Date.now();
      let w = windows.get(name);
      if (!w || now - w.start >= windowMs) {
        if (w) windows.delete(name);
        else if (windows.size >= MAX_NAMES) makeRoom(now);
        w = { count: 0, start: now };
        windows.set(name, w);
      }
      w.count++;
      return { count: w.count, resetMs: w.start + windowMs - now };
    },
  };
}

/** INCR, starting the window's expiry with the first hit; one round trip, atomic across processes. */
const HIT = `
local c = redis.call('INCR', KEYS[1])
if c == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  t = tonumber(ARGV[1])
end
return {c, t}
`;

/** Counts in Redis, so every API process shares one count per name (EASEL_REDIS_URL). */
export function redisWindowCounter(redis: Redis, prefix: string, windowMs: number): WindowCounter {
  return {
    async hit(name) {
      try {
        const [count, ttl] = (await redis.eval(HIT, 1, prefix + name, String(windowMs))) as [number, number];
        return { count: Number(count), resetMs: Number(ttl) };
      } catch {
        return null;
      }
    },
  };
}
