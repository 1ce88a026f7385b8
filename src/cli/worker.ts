import { usePrivateUmask } from '../util/private-files.js';
import { loadConfig } from '../config.js';
import { createServices, startWorkers } from '../app.js';
import { startMetricsListener } from '../observability/metrics-server.js';

/** `easel worker`: workers only, no HTTP. Any number of these may run against one database. */
export async function worker(): Promise<void> {
  // Files this process creates are private (-wal, -shm, blobs, …): src/util/private-files.ts.
  usePrivateUmask();
  const config = loadConfig({ runWorker: true });
  const s = await createServices(config);
  startWorkers(s);
  if (config.metricsPort !== null) await startMetricsListener(s, config.metricsPort);
  s.log.info({ concurrency: config.workerConcurrency, drivers: s.drivers }, 'easel worker running');
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    s.log.info({ signal }, 'worker shutting down: finishing or releasing in-flight jobs');
    setTimeout(() => process.exit(1), config.shutdownGraceMs + 5000).unref();
    await s.worker?.stop(config.shutdownGraceMs);
    await s.close();
    s.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
