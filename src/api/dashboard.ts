import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import type { Config } from '../config.js';

/**
 * The dashboard (issue 9): a static single-page app built by Vite into dist-web/ and served at
 * /dashboard/. It talks to the public /v1 API with the user's key like any other client, so
 * these routes are public (the files hold no data) and nothing here is a back door.
 */

/** dist-web/ beside dist/ and src/: the same path from the compiled server and from tsx. */
export const DASHBOARD_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist-web');

/**
 * The API's own CSP (default-src 'none') forbids scripts; the dashboard needs its own bundle, its
 * stylesheet, fetches to this origin, and images from signed URLs — on this origin (/files) or on
 * the S3 server in scale-out mode, whose origin is added to img-src. No inline script or style.
 */
export function dashboardCsp(config: Config): string {
  const imgSources = ["'self'", 'data:', 'blob:'];
  const s3 = config.s3.publicEndpoint ?? config.s3.endpoint;
  if (s3) {
    try {
      imgSources.push(new URL(s3).origin);
    } catch {
      // An unparsable endpoint fails elsewhere at start-up; images then come from 'self' only.
    }
  }
  return [
    "default-src 'self'",
    `img-src ${imgSources.join(' ')}`,
    "connect-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Hashed assets never change under their name; index.html must be re-checked to pick up a new build. */
function cacheHeaders(res: { setHeader(name: string, value: string): unknown }, filePath: string): void {
  res.setHeader('cache-control', filePath.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
}

/**
 * What the dashboard serves: the built files, by a plain path. A dot segment (`..`, `.`), a dotfile
 * or dot-directory (`.env`, `.git/`), a backslash or NUL, and source maps (`*.map`: they hold the
 * sources, and the build makes none; this keeps an older build's from being served) answer 404
 * before @fastify/send sees the path — it would refuse them with a 403 error fastify cannot shape.
 */
export function servableDashboardPath(pathname: string): boolean {
  if (/[\\\0]/.test(pathname) || pathname.toLowerCase().endsWith('.map')) return false;
  return pathname.split('/').every((seg, i, all) => (seg === '' ? i === 0 || i === all.length - 1 : !seg.startsWith('.')));
}

export async function installDashboard(app: FastifyInstance, config: Config): Promise<void> {
  const csp = dashboardCsp(config);
  await app.register(async (scope) => {
    // Encapsulated: these hooks touch the dashboard's routes only.
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config ?? {}), public: true };
    });
    scope.addHook('onRequest', (_req, reply, done) => {
      reply.header('content-security-policy', csp);
      done();
    });
    // The root is where a browser lands first: send it to the dashboard (302, so nothing is cached).
    scope.get('/', { schema: { hide: true } }, (_req, reply) => reply.redirect('/dashboard/', 302));
    if (!fs.existsSync(path.join(DASHBOARD_ROOT, 'index.html'))) {
      app.log.warn({ dir: DASHBOARD_ROOT }, 'dashboard not built (npm run build); /dashboard/ answers 404');
      return;
    }
    await scope.register(fastifyStatic, {
      root: DASHBOARD_ROOT,
      prefix: '/dashboard',
      redirect: true,
      decorateReply: false,
      cacheControl: false,
      setHeaders: cacheHeaders,
      etag: true,
      lastModified: true,
      dotfiles: 'deny',
      allowedPath: (pathname) => servableDashboardPath(pathname),
    });
  });
}
