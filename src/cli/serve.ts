import { usePrivateUmask } from '../util/private-files.js';
import { loadConfig, type Config } from '../config.js';
import { createServices, startWorkers } from '../app.js';
import { buildServer } from '../api/server.js';

/** `easel serve`: API and (unless --no-worker) the in-process workers, with graceful shutdown. */
export async function serve(opts: { worker: boolean }, overrides: Partial<Config> = {}): Promise<void> {
  // Files this process creates are private (-wal, -shm, blobs, …): src/util/private-files.ts.
  usePrivateUmask();
  const config = loadConfig({ ...overrides, runWorker: opts.worker });
  const s = await createServices(config);
  const app = await buildServer(s);
  const address = await app.listen({ host: config.host, port: config.port });
  if (!config.publicUrl) {
    const port = (app.server.address() as { port: number }).port;
    const host = config.host.includes(':') ? `[${config.host}]` : config.host === '0.0.0.0' ? '127.0.0.1' : config.host;
    s.publicBase.url = `http://${host}:${port}`;
  }
  if (config.runWorker) startWorkers(s);
  s.log.info({ address, public_url: s.publicBase.url, data_dir: config.dataDir, worker: config.runWorker, drivers: s.drivers }, 'easel listening');

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    s.log.info({ signal }, 'shutting down: draining requests and jobs');
    const hardStop = setTimeout(() => process.exit(1), config.shutdownGraceMs + 5000);
    hardStop.unref();
    // Keep-alive connections that finish their last request while we drain would otherwise hold
    // the server open until their idle timeout; close each as soon as it goes idle.
    const reaper = setInterval(() => app.server.closeIdleConnections(), 100);
    await Promise.allSettled([app.close(), s.worker?.stop(config.shutdownGraceMs)]);
    clearInterval(reaper);
    await s.close();
    s.log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  watchLauncher(() => void shutdown('launcher exited'));
}

/**
 * Under `npm start`, the process a shell's `kill %1` or `kill $!` reaches is npm, which exits
 * without passing the signal on, and the server would keep running as an orphan (issue 24). So a
 * server started by an npm script watches its parent: when the parent is gone (the process is
 * re-parented), it shuts down as on SIGTERM. Started directly (`node bin/easel.js serve`, a
 * service manager, a container), nothing changes.
 */
export function watchLauncher(stop: () => void): void {
  if (!process.env.npm_lifecycle_event) return;
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(timer);
      stop();
    }
  }, 500);
  timer.unref();
}
