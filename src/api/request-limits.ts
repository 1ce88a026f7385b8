import type { FastifyInstance, FastifyReply } from 'fastify';
import type { WindowCount, WindowCounter } from './rate-window.js';
import { rateLimitedError } from './rate-limited.js';
import type { EaselError } from '../errors.js';

export interface RequestLimit {
  counter: WindowCounter;
  /** Requests per one-minute window. */
  max: number;
}

/**
 * The request rates of every authenticated request, in one hook after authentication: per account
 * (EASEL_RATE_LIMIT_ACCOUNT_PER_MIN: every key of an account draws on one budget, so minting more
 * keys buys no more requests), then per key (EASEL_RATE_LIMIT_PER_MIN). Fixed one-minute windows,
 * counted in this process or in Redis (src/api/rate-store.ts); a counter that cannot be reached
 * answers null and the request goes through (fail open). Every answer to a counted request
 * carries the key's X-RateLimit-Limit / -Remaining / -Reset; a refusal is 429 `rate_limited` naming
 * the limit (src/api/rate-limited.ts). Requests without a key are not counted here (the failed-
 * authentication limit counts those). In-memory counting answers synchronously, so the hook is
 * callback-style: no promise per request on the poll path.
 */
export function installRequestLimits(app: FastifyInstance, limits: { account: RequestLimit | null; key: RequestLimit | null }): void {
  const { account, key } = limits;
  if (!account && !key) return;
  const accountRefusal = (w: WindowCount | null): EaselError | null =>
    account && w && w.count > account.max
      ? rateLimitedError('account', `Too many requests for this account (all its API keys together): at most ${account.max} per minute.`, account.max, w.resetMs)
      : null;
  const keyVerdict = (reply: FastifyReply, w: WindowCount | null): EaselError | null => {
    if (!key || !w) return null;
    if (w.count > key.max) return rateLimitedError('key', `Too many requests for this API key: at most ${key.max} per minute.`, key.max, w.resetMs);
    reply.headers({ 'x-ratelimit-limit': key.max, 'x-ratelimit-remaining': key.max - w.count, 'x-ratelimit-reset': Math.max(1, Math.ceil(w.resetMs / 1000)) });
    return null;
  };
  app.addHook('onRequest', (req, reply, done) => {
    const auth = req.auth;
    if (!auth) return done();
    const fail = (e: unknown) => done(e as Error);
    const afterAccount = (aw: WindowCount | null) => {
      const refused = accountRefusal(aw);
      if (refused) return done(refused);
      if (!key) return done();
      const kw = key.counter.hit(auth.keyId);
      if (kw instanceof Promise) kw.then((w) => done(keyVerdict(reply, w) ?? undefined), fail);
      else done(keyVerdict(reply, kw) ?? undefined);
    };
    if (!account) return afterAccount(null);
    const aw = account.counter.hit(auth.accountId);
    if (aw instanceof Promise) aw.then(afterAccount, fail);
    else afterAccount(aw);
  });
}
