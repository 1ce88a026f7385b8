import type { FastifyInstance } from 'fastify';
import type { WindowCounter } from './rate-window.js';
import { rateLimitedError } from './rate-limited.js';

/**
 * The per-account request rate (EASEL_RATE_LIMIT_ACCOUNT_PER_MIN), beside the per-key one: every
 * key of an account draws on one budget, so minting more keys does not buy more requests. Added
 * after the auth hook, so the account is known; requests without a key are not counted here.
 */
export function installAccountRateLimit(app: FastifyInstance, counter: WindowCounter, max: number): void {
  if (max <= 0) return;
  app.addHook('onRequest', async (req) => {
    if (!req.auth) return;
    const w = await counter.hit(req.auth.accountId);
    if (!w || w.count <= max) return;
    throw rateLimitedError('account', `Too many requests for this account (all its API keys together): at most ${max} per minute.`, max, w.resetMs);
  });
}
