import path from 'node:path';
import { pino, type Logger } from 'pino';
import type { Config } from './config.js';
import type { Db } from './store/db.js';
import { openStore, type Store } from './store/open.js';
import { SqlQueue } from './queue/sql-queue.js';
import { Fleet } from './fleet/fleet.js';
import { FleetProbes } from './fleet/probes.js';
import { PgWakeup } from './queue/pg-wakeup.js';
import type { JobQueue } from './queue/port.js';
import { FsBlobStore } from './blob/fs-store.js';
import { previewUrls } from './progress/preview-urls.js';
import type { BlobStore } from './blob/port.js';
import { UrlSigner } from './blob/url-signer.js';
import { loadSecrets } from './util/secrets.js';
import { securePrivateDir, sqliteFiles } from './util/private-files.js';
import { RuleModerator, type Moderator } from './moderation/moderator.js';
import { Catalogue } from './providers/catalogue.js';
import { builtinModels } from './providers/builtin-models.js';
import { ProviderFactory } from './providers/factory.js';
import { loadCatalogueFile } from './providers/catalogue-file.js';
import { JobService } from './jobs/service.js';
import { batchTotals } from './batches/progress.js';
import { Presenter } from './views/present.js';
import { SignedResultUrls } from './jobs/result-urls.js';
import { EtaEstimator } from './jobs/eta.js';
import { WorkerPool } from './worker/pool.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { SecretBox } from './webhooks/secret-box.js';
import { sealStoredWebhookSecrets } from './webhooks/secret.js';
import { RetentionSweeper } from './jobs/retention.js';
import { configureCrashPoints } from './util/crash.js';
import { InputResolver } from './pipelines/inputs.js';
import { instrumentCatalogue, staleWrites } from './observability/metrics.js';
import { installC2paSigning } from './imaging/signing.js';
import { configureLibvips } from './imaging/libvips.js';
import { ProcessChildPool } from './pipelines/process/child-pool.js';
import { budgetsOf } from './pipelines/process/budgets.js';

/** The object graph, built once. HTTP routes and workers receive what they need from here. */
export interface Services {
  config: Config;
  log: Logger;
  db: Db;
  store: Store;
  queue: JobQueue;
  /** The backends of every pool and their shared state (src/fleet/). */
  fleet: Fleet;
  /** Active health checks of those backends; worker processes run them. */
  probes: FleetProbes;
  blob: BlobStore;
  signer: UrlSigner;
  /** Seals and opens the webhook signing secrets stored in the database. */
  webhookSecrets: SecretBox;
  moderator: Moderator;
  catalogue: Catalogue;
  jobs: JobService;
  presenter: Presenter;
  /** The base of absolute URLs we hand out; set once the server knows its port. */
  publicBase: { url: string };
  worker: WorkerPool | null;
  drivers: { store: string; queue: string; storage: string };
  /** Closes the queue engine and the database (after the HTTP server and workers have stopped). */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { pid: process.pid, service: 'easel' },
    redact: { paths: ['req.headers.authorization', 'headers.authorization', '*.authorization'], censor: '[redacted]' },
  });
}

export async function createServices(config: Config, log: Logger = createLogger(config), opts: { listen?: boolean } = {}): Promise<Services> {
  configureCrashPoints(config.crashAt, config.crashSignal);
  // 0700, and an older, looser data directory is tightened (issue 20).
  securePrivateDir(config.dataDir, config.databaseUrl ? [] : sqliteFiles(config.databaseFile));
  // libvips's cache and threads, set on purpose (docs/DECISIONS.md, work isolation).
  configureLibvips(config.imageWorkConcurrency);
  // Every stored output gets a signed C2PA manifest; a bad certificate or key stops the start here.
  const c2pa = installC2paSigning(config.dataDir, { cert: config.c2paCert, key: config.c2paKey });
  if (c2pa.credentials.source === 'generated') log.info({ ca: `${config.dataDir}/c2pa/ca.pem` }, 'generated the C2PA signing CA and certificate');
  const store = await openStore(config);
  const db = store.db;
  const secrets = loadSecrets(config.dataDir, { signingSecret: config.signingSecret, secretsKey: config.secretsKey });
  const webhookSecrets = new SecretBox(secrets.webhookEncryptionKey);
  // Webhook secrets stored in the clear by an older version are sealed now (idempotent).
  const sealed = await sealStoredWebhookSecrets(db, webhookSecrets);
  if (sealed > 0) log.info({ sealed }, 'encrypted the webhook secrets stored in the clear');
  const signer = new UrlSigner(secrets.urlSigningKey);
  const publicBase = { url: config.publicUrl ?? `http://${config.host}:${config.port}` };
  let blob: BlobStore;
  // Scale-out drivers (AWS SDK, pg) are imported only when configured: together they add
  // tens of MB of resident memory that a single-machine server never uses.
  if (config.s3.endpoint || config.s3.accessKeyId) {
    const { S3BlobStore } = await import('./blob/s3-store.js');
    const s3 = new S3BlobStore(config.s3);
    await s3.ensureBucket();
    blob = s3;
  } else {
    blob = new FsBlobStore(path.join(config.dataDir, 'blobs'), signer, () => publicBase.url);
  }
  const queue = new SqlQueue(db, {
    dialect: store.driver,
    maxRunning: config.maxConcurrentJobs,
    maxRunningFree: config.maxConcurrentFree,
    maxAttempts: config.maxAttempts,
    agingMs: config.priorityAgingMs,
    dispatch: config.dispatch,
    ...(store.driver === 'postgres' ? { notify: PgWakeup.notify } : {}),
  });
  // Several processes share a PostgreSQL queue: an enqueue in one wakes idle workers in the others.
  const wakeup = store.driver === 'postgres' && opts.listen !== false ? new PgWakeup(config.databaseUrl!, log.child({ component: 'queue' }), () => queue.poke()) : null;
  await wakeup?.listen();
  // Pools of backends share their state through the store (src/fleet/): capacity, health, leases.
  const fleet = new Fleet(db, { dialect: store.driver, ejectAfter: config.backendEjectAfter });
  const factory = new ProviderFactory(config, fleet);
  const catalogue = config.modelsFile
    ? (() => {
        const f = loadCatalogueFile(config.modelsFile!, factory);
        return new Catalogue(f.models, f.defaults);
      })()
    : new Catalogue(builtinModels(config, factory), { image: 'easel-sketch', graphic: 'easel-sketch', diagram: 'easel-sketch', edit: 'easel-sketch', combine: 'easel-sketch', story: 'easel-sketch' });
  // Every provider call is timed and counted per model (GET /metrics), whichever pipeline makes it.
  instrumentCatalogue(catalogue);
  await fleet.register();
  const probes = new FleetProbes(fleet, factory.probeSpecs, config.backendProbeMs, log.child({ component: 'fleet' }));
  const staleLog = log.child({ component: 'jobs' });
  const jobs = new JobService(db, queue, {
    maxQueuedJobs: config.maxQueuedJobs,
    maxActiveBatches: config.maxActiveBatches,
    retentionS: config.retentionS,
    // A fenced transition refused: the writer had lost its claim. Logged and counted, nothing written.
    onStale: (transition, fence) => {
      staleWrites.inc({ transition });
      staleLog.warn({ job_id: fence.jobId, transition }, 'stale writer refused: its claim no longer owns the job');
    },
  });
  // The job view is whole in every process: a worker's webhooks carry what GET /v1/jobs/{id} shows.
  const presenter = new Presenter({
    urls: new SignedResultUrls(blob, config.urlTtlS),
    storySteps: (id) => jobs.allSteps(id),
    eta: new EtaEstimator(db, config.workerConcurrency, queue, config.processConcurrency),
    batchTotals: (id) => batchTotals(db, id),
    previewUrls: previewUrls(signer, () => publicBase.url),
  });
  const services: Services = {
    config,
    log,
    db,
    store,
    queue,
    fleet,
    probes,
    blob,
    signer,
    webhookSecrets,
    moderator: new RuleModerator(),
    catalogue,
    jobs,
    presenter,
    publicBase,
    worker: null,
    drivers: { store: store.driver, queue: config.queueDriver, storage: blob instanceof FsBlobStore ? 'fs' : 's3' },
    close: async () => {
      await wakeup?.stop();
      await store.close();
    },
  };
  return services;
}

export function startWorkers(s: Services): WorkerPool {
  const c = s.config;
  // Free processing runs in child processes under budgets, on its own worker slots (docs/DECISIONS.md, "Work isolation").
  const children = new ProcessChildPool({
    size: Math.max(1, c.processConcurrency),
    timeoutMs: c.processTimeoutMs,
    memoryBytes: c.processMemoryBytes,
    init: { dataDir: c.dataDir, c2paCert: c.c2paCert, c2paKey: c.c2paKey },
    log: s.log.child({ component: 'processing' }),
  });
  const budgets = budgetsOf(c);
  const pool = new WorkerPool(
    s.queue,
    s.jobs,
    {
      db: s.db,
      blob: s.blob,
      catalogue: s.catalogue,
      jobs: s.jobs,
      moderator: s.moderator,
      inputs: new InputResolver(s.blob, s.signer, s.publicBase, c.allowLoopbackUrls),
      imageWork: { pool: children, budgets },
    },
    s.log.child({ component: 'worker' }),
    { concurrency: c.workerConcurrency, processConcurrency: c.processConcurrency, leaseMs: c.leaseMs, maxAttempts: c.maxAttempts, retryBaseMs: c.retryBaseMs, idlePollMs: 500 },
  );
  pool.usedBySlots(children);
  pool.start();
  const sweeper = new RetentionSweeper(s.db, s.blob, s.log.child({ component: 'retention' }), s.config.retentionSweepMs, s.config.uploadRetentionMs);
  sweeper.start();
  pool.alongside(sweeper);
  // The webhook outbox is sent by worker processes too; it stops with the pool.
  const webhooks = new WebhookDispatcher(s.db, s.webhookSecrets, s.presenter, s.log.child({ component: 'webhooks' }), {
    retryBaseMs: s.config.webhookRetryBaseMs,
    timeoutMs: s.config.webhookTimeoutMs,
    retryWindowMs: s.config.webhookRetryWindowS * 1000,
    pollMs: s.config.webhookPollMs,
    allowLoopbackHttp: s.config.allowLoopbackUrls,
  });
  webhooks.start();
  pool.alongside(webhooks);
  s.probes.start();
  pool.alongside({ stop: async () => s.probes.stop() });
  s.worker = pool;
  return pool;
}
