import path from 'node:path';
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../app.js';
import { BLOB_KEY_RE } from '../../blob/port.js';
import { EaselError, forbidden, notFound } from '../../errors.js';

/**
 * Signed file URLs: public (no key), but only with a valid, unexpired HMAC over the key and expiry.
 * Byte serving (Range, ETag, conditional GET, Content-Type) is @fastify/static's.
 */
export function fileRoutes(app: FastifyInstance, s: Services, blobRoot: string): void {
  app.get(
    '/files/*',
    { config: { public: true }, schema: { hide: true } },
    async (req, reply) => {
      const key = (req.params as { '*': string })['*'];
      const q = req.query as { exp?: string; sig?: string };
      if (!BLOB_KEY_RE.test(key) || key.includes('..')) throw forbidden('This file URL is not valid.');
      const verdict = s.signer.verify(key, q.exp, q.sig);
      if (verdict === 'invalid') throw forbidden('This file URL is not valid (bad or missing signature).');
      if (verdict === 'expired') throw new EaselError(403, 'forbidden', 'This file URL has expired; fetch the job again for fresh URLs.', { expired: true });
      const file = path.join(blobRoot, ...key.split('/'));
      if (!fs.existsSync(file)) throw notFound('This file is no longer kept.');
      const remainingS = Math.max(0, Number(q.exp) - Math.floor(Date.now() / 1000));
      reply.header('cache-control', `private, max-age=${remainingS}, immutable`);
      return reply.sendFile(key, blobRoot);
    },
  );
}
