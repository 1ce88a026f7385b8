import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { JobQueue } from '../queue/port.js';
import type { Db } from '../store/db.js';
import { registerStoreCollectors, renderMetrics } from './metrics.js';

/**
 * What the listener needs from the process's services. Named here (the app's Services has these
 * members) so that observability/ does not depend on src/app.ts, which wires everything.
 */
export interface MetricsListenerDeps {
  db: Db;
  queue: JobQueue;
  config: Pick<Config, 'metricsToken' | 'host'>;
  log: Pick<Logger, 'info'>;
}

/**
 * `easel worker` has no HTTP API; with EASEL_METRICS_PORT set it serves GET /metrics (and nothing
 * else) so its provider metrics can be scraped. Same token rule as the API's /metrics.
 */
export async function startMetricsListener(s: MetricsListenerDeps, port: number): Promise<http.Server> {
  registerStoreCollectors(s.db, s.queue);
  const token = s.config.metricsToken;
  const expected = token ? crypto.createHash('sha256').update(`Bearer ${token}`).digest() : null;
  const server = http.createServer((req, res) => {
    const json = (status: number, error: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(JSON.stringify({ error, message, request_id: `req_${crypto.randomUUID().replace(/-/g, '')}` }));
    };
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') return json(404, 'not_found', 'Only GET /metrics is served here.');
    if (expected) {
      const given = crypto.createHash('sha256').update(req.headers.authorization ?? '').digest();
      if (!crypto.timingSafeEqual(given, expected)) return json(401, 'auth_invalid', 'GET /metrics needs "Authorization: Bearer <EASEL_METRICS_TOKEN>".');
    }
    renderMetrics().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        res.end(body);
      },
      () => json(500, 'internal_error', 'Metrics could not be collected.'),
    );
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, s.config.host, () => resolve());
  });
  server.unref();
  const a = server.address() as AddressInfo;
  s.log.info({ metrics_url: `http://${s.config.host.includes(':') ? `[${s.config.host}]` : s.config.host}:${a.port}/metrics` }, 'worker metrics listening');
  return server;
}
