import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Services } from '../app.js';
import { memoryWindowCounter, redisWindowCounter, type WindowCounter } from './rate-window.js';

/** Redis keys of every request limit start with this (the name earlier releases' per-key limiter used, kept). */
export const RATE_NAMESPACE = 'easel-rl:';
const WINDOW_MS = 60_000;

/**
 * Where the request limits count: one Redis client shared by the per-key, per-account and
 * failed-authentication limits when EASEL_REDIS_URL is set (every API process then shares the
 * counts), else this process's memory.
 */
export interface RateStore {
  redis: Redis | null;
  /** A one-minute window counter whose names start with `kind` (in Redis: easel-rl:<kind>…). */
  counter(kind: string): WindowCounter;
}

export async function openRateStore(app: FastifyInstance, s: Services): Promise<RateStore> {
  const c = s.config;
  const anyLimit = c.rateLimitPerMin > 0 || c.rateLimitAccountPerMin > 0 || c.authFailuresPerMin > 0;
  let redis: Redis | null = null;
  if (anyLimit && c.redisUrl) {
    // ioredis is imported only when a shared rate-limit store is configured.
    const { Redis } = await import('ioredis');
    redis = new Redis(c.redisUrl, {
      lazyConnect: true,
      // Never queue or stall a request behind a lost Redis: fail fast, and the limiters fail open.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      commandTimeout: 1000,
    });
    let lastWarn = 0;
    redis.on('error', (e: Error) => {
      if (Date.now() - lastWarn > 10_000) {
        lastWarn = Date.now();
        s.log.warn({ err: e.message }, 'rate-limit store (Redis) unavailable; requests are not rate limited meanwhile');
      }
    });
    await redis.connect().catch(() => undefined);
    const r = redis;
    app.addHook('onClose', async () => {
      await r.quit().catch(() => r.disconnect());
    });
  } else if (anyLimit && s.drivers.store === 'postgres') {
    s.log.warn('EASEL_REDIS_URL is not set: the request rate limits are counted per API process');
  }
  return {
    redis,
    counter: (kind) => (redis ? redisWindowCounter(redis, `${RATE_NAMESPACE}${kind}`, WINDOW_MS) : memoryWindowCounter(WINDOW_MS)),
  };
}
