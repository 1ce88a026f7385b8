import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import { openSqlite, migrate, type Db } from './store/db.js';
import { EmbeddedQueue } from './queue/embedded.js';
import type { JobQueue } from './queue/port.js';
import { FsBlobStore } from './blob/fs-store.js';
import type { BlobStore } from './blob/port.js';
import { UrlSigner } from './blob/url-signer.js';
import { loadSecrets } from './util/secrets.js';
import { RuleModerator, type Moderator } from './moderation/moderator.js';
import { Catalogue } from './providers/catalogue.js';
import { builtinModels } from './providers/builtin-models.js';
import { JobService } from './jobs/service.js';
import { Presenter } from './jobs/present.js';
import { WorkerPool } from './worker/pool.js';
import { configureCrashPoints } from './util/crash.js';

/** The object graph, built once. HTTP routes and workers receive what they need from here. */
export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  queue: JobQueue;
  blob: BlobStore;
  signer: UrlSigner;
  moderator: Moderator;
  catalogue: Catalogue;
  jobs: JobService;
  presenter: Presenter;
  /** The base of absolute URLs we hand out; set once the server knows its port. */
  publicBase: { url: string };
  worker: WorkerPool | null;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid, service: 'easel' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[redacted]' },
  });
}

export async function createServices(config: Config, log: Logger = createLogger(config)): Promise<Services> {
  configureCrashPoints(config.crashAt);
  const db = openSqlite(config.databaseFile);
  await migrate(db);
  const secrets = loadSecrets(config.dataDir, config.signingSecret);
  const signer = new UrlSigner(secrets.urlSigningKey);
  const publicBase = { url: config.publicUrl ?? `http://${config.host}:${config.port}` };
  const blob = new FsBlobStore(path.join(config.dataDir, 'blobs'), signer, () => publicBase.url);
  const queue = new EmbeddedQueue(db);
  const catalogue = new Catalogue(builtinModels(config), { image: 'easel-sketch', story: 'easel-sketch' });
  const jobs = new JobService(db, queue, config.maxConcurrentJobs);
  return {
    config,
    log,
    db,
    queue,
    blob,
    signer,
    moderator: new RuleModerator(),
    catalogue,
    jobs,
    presenter: new Presenter(blob, config.urlTtlS),
    publicBase,
    worker: null,
  };
}

export function startWorkers(s: Services): WorkerPool {
  const pool = new WorkerPool(
    s.queue,
    s.jobs,
    { db: s.db, blob: s.blob, catalogue: s.catalogue, jobs: s.jobs, moderator: s.moderator },
    s.log.child({ component: 'worker' }),
    { concurrency: s.config.workerConcurrency, leaseMs: s.config.leaseMs, maxAttempts: s.config.maxAttempts, retryBaseMs: s.config.retryBaseMs, idlePollMs: 500 },
  );
  pool.start();
  s.worker = pool;
  return pool;
}
