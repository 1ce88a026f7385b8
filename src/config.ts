import path from 'node:path';
import { MIN_SECRETS_KEY_LENGTH } from './util/secrets.js';
import { defaultImageWorkConcurrency } from './imaging/image-work.js';

/** One typed config object, read from the environment once. Every variable is documented in README.md. */
export interface Config {
  host: string;
  port: number;
  publicUrl: string | null;
  dataDir: string;
  databaseFile: string;
  /** postgres://… selects PostgreSQL (scale-out); unset keeps SQLite in the data directory. */
  databaseUrl: string | null;
  databasePoolSize: number;
  /** Client-side bound on every PostgreSQL query of the serving pool (src/store/postgres.ts). */
  databaseQueryTimeoutMs: number;
  /** Server-side bound on a PostgreSQL transaction left idle (a stopped process's locks are freed): src/store/postgres.ts. */
  databaseIdleTxTimeoutMs: number;
  /** Where the job queue lives: the store's own database (src/queue/sql-queue.ts), named for /health. */
  queueDriver: 'embedded' | 'postgres';
  s3: {
    endpoint: string | null;
    bucket: string;
    region: string;
    accessKeyId: string | null;
    secretAccessKey: string | null;
    forcePathStyle: boolean;
    /** Where clients reach the S3 server, if not the endpoint Easel uses (a CDN or public host). */
    publicEndpoint: string | null;
  };
  logLevel: string;
  workerConcurrency: number;
  runWorker: boolean;
  leaseMs: number;
  maxAttempts: number;
  retryBaseMs: number;
  urlTtlS: number;
  syncTimeoutS: number;
  maxBodyBytes: number;
  /** Largest file POST /v1/upload accepts (413 above); the stream is cut there, never buffered further. */
  maxUploadBytes: number;
  /** Uploads an account may store per UTC day (EASEL_UPLOAD_DAILY_COUNT; 0 = no limit): 429 above. */
  uploadDailyCount: number;
  /** Bytes an account may upload per UTC day (EASEL_UPLOAD_DAILY_BYTES; 0 = no limit): 429 above. */
  uploadDailyBytes: number;
  /** How long an upload is kept (EASEL_UPLOAD_RETENTION_H, fractional hours allowed); the retention sweeper deletes it after. */
  uploadRetentionMs: number;
  /** Uploads checked (decoded, moderated, stored) at once per process (EASEL_UPLOAD_CONCURRENCY); the rest wait spooled on disk. */
  uploadConcurrency: number;
  /** Images decoded, encoded or rendered at once per process (EASEL_IMAGE_WORK_CONCURRENCY); the rest wait their turn. */
  imageWorkConcurrency: number;
  /** Jobs running at once per account (EASEL_MAX_CONCURRENT_JOBS): the fair dispatcher passes an account over at it. */
  maxConcurrentJobs: number;
  /** Pending jobs per account (EASEL_MAX_QUEUED_JOBS): submits above it get 429. */
  maxQueuedJobs: number;
  /** Items one batch may hold (EASEL_MAX_BATCH_ITEMS). */
  maxBatchItems: number;
  /** Batches of an account waiting or running at once (EASEL_MAX_ACTIVE_BATCHES): one more answers 429. */
  maxActiveBatches: number;
  /** Request body bound of POST /v1/batches, JSON or multipart (EASEL_MAX_BATCH_BYTES). */
  maxBatchBytes: number;
  /** Worker slots per process for free processing (EASEL_PROCESS_CONCURRENCY), apart from the paid slots; each runs its image work in a child process. */
  processConcurrency: number;
  /** Free processing jobs running at once per account (EASEL_MAX_CONCURRENT_FREE). */
  maxConcurrentFree: number;
  /** Time budget of one processing operation (EASEL_PROCESS_TIMEOUT_S): past it the child is killed and the job fails (422). */
  processTimeoutMs: number;
  /** Memory budget of one processing child (EASEL_PROCESS_MEMORY_MB, resident): past it the child is killed and the job fails (422). */
  processMemoryBytes: number;
  /** Largest AVIF a processing operation writes, in pixels (EASEL_PROCESS_AVIF_MAX_PIXELS). */
  processAvifMaxPixels: number;
  /** Largest input remove-background takes, in pixels (EASEL_PROCESS_REMOVE_BG_MAX_PIXELS). */
  processRemoveBgMaxPixels: number;
  /** EASEL_PRIORITY_AGING_S: how far priority moves a job within its account (src/queue/priority.ts). */
  priorityAgingMs: number;
  /** EASEL_DISPATCH: fair (stride scheduling across accounts) or fifo. */
  dispatch: 'fair' | 'fifo';
  /** EASEL_BACKEND_ROUTING: sticky (prefer a backend with the model loaded) or least_loaded (src/fleet/routing.ts). */
  backendRouting: 'sticky' | 'least_loaded';
  /** EASEL_BACKEND_PROBE_MS: how often worker processes probe every backend of every pool. */
  backendProbeMs: number;
  /** EASEL_BACKEND_EJECT_AFTER: consecutive failures (calls or probes) that eject a backend. */
  backendEjectAfter: number;
  /** EASEL_BACKEND_COOLDOWN_S: an ejected hosted API key is tried again after this long. */
  backendCooldownMs: number;
  shutdownGraceMs: number;
  /** YAML/JSON model catalogue; unset = the built-in easel-sketch models. */
  modelsFile: string | null;
  /** Test mode only: lets user URLs use http:// and loopback addresses (never other private ranges). */
  allowLoopbackUrls: boolean;
  sketchLatencyMs: number;
  sketchFailures: number;
  sketchPriceEur: string;
  sketchFastPriceEur: string;
  defaultStrictness: 'normal' | 'liberal';
  signingSecret: string | null;
  /** EASEL_SECRETS_KEY: the key of the webhook secrets at rest (else secrets.json's). */
  secretsKey: string | null;
  /** Test-only fault injection, e.g. "after_blob_write:2" (see src/util/crash.ts). */
  crashAt: string | null;
  /** SIGKILL (default) or SIGSTOP: what a crash point does (tests pause a worker past its lease with SIGSTOP). */
  crashSignal: string | null;
  /** Append one line per provider call (provider-call accounting in crash tests). */
  providerCallLog: string | null;
  /** Requests per minute per API key (0 = no limit); shared through Redis when redisUrl is set. */
  rateLimitPerMin: number;
  /** Requests per minute per account, all its keys together (0 = no limit); default ACCOUNT_RATE_MULTIPLE × the per-key limit. */
  rateLimitAccountPerMin: number;
  /** 401s one address may earn per minute before its unauthenticated requests answer 429 (0 = no limit). */
  authFailuresPerMin: number;
  /** redis://… shares the request rate limit across API processes; unset = per process. */
  redisUrl: string | null;
  /** Time to receive a whole request (headers + body); 408 past it. The wait for a sync result is not counted. */
  requestTimeoutMs: number;
  /** Bytes of a refused, unread body read and discarded after the answer before the connection is closed (src/api/unread-body.ts). */
  refusedBodyDrainBytes: number;
  /** Bearer token that GET /metrics requires; unset = /metrics is public (bind to a private interface). */
  metricsToken: string | null;
  /** `easel worker` serves GET /metrics on this port (0 = any free port); unset = no listener. */
  metricsPort: number | null;
  /** Operator's blocked terms, one per line; re-read when the file changes (src/moderation/blocklist.ts). */
  moderationBlocklist: string | null;
  /** C2PA signing chain (leaf first) and key, PEM text or file paths; unset = generated into `<data dir>/c2pa/`. */
  c2paCert: string | null;
  c2paKey: string | null;
  /** Webhook retries: first delay (doubling each attempt, ±20 % jitter, at most 1 h), and the time per request. */
  webhookRetryBaseMs: number;
  webhookTimeoutMs: number;
  /** Retries stop this long after a delivery was created (or redelivered): 24 h. */
  webhookRetryWindowS: number;
  /** How often each worker process's webhook dispatcher looks for due deliveries. */
  webhookPollMs: number;
  /** How long a job's files are kept after it ends (EASEL_RETENTION_DAYS; EASEL_RETENTION_S overrides, for tests). */
  retentionS: number;
  /** How often each worker process looks for jobs whose retention ended. */
  retentionSweepMs: number;
  /** Tests only: check every response against the served OpenAPI document (src/api/response-check.ts). */
  validateResponses: boolean;
}

/** Read where the moderator is built as well as here, so both agree on the one variable. */
export function moderationBlocklistFile(): string | null {
  const v = process.env.EASEL_MODERATION_BLOCKLIST;
  return v ? path.resolve(v) : null;
}

/**
 * The per-account request limit defaults to this many keys' worth: a few keys of one account (CI,
 * production, the dashboard) may each run near their own limit, but minting 50 keys no longer
 * buys 50 times the rate.
 */
export const ACCOUNT_RATE_MULTIPLE = 4;

function int(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return n;
}

/** A decimal number in [min, max] (fractional values allowed, unlike int()). */
function num(name: string, def: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${name} must be a number between ${min} and ${max}, got "${raw}"`);
  return n;
}

function str(name: string, def: string): string {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? def : raw;
}

function eur(name: string, def: string): string {
  const v = str(name, def);
  if (!/^\d{1,9}(\.\d{1,6})?$/.test(v)) throw new Error(`${name} must be a EUR amount like 0.020000, got "${v}"`);
  return v;
}

/**
 * The queue lives in the store (SQLite or PostgreSQL). EASEL_QUEUE is no longer needed; the values
 * earlier versions took are still accepted when they agree with the store (`pgboss` = PostgreSQL).
 */
function queueDriver(): 'embedded' | 'postgres' {
  const pg = Boolean(process.env.EASEL_DATABASE_URL);
  const v = process.env.EASEL_QUEUE;
  if (v !== undefined && v !== '') {
    if (!['embedded', 'postgres', 'pgboss'].includes(v)) throw new Error('EASEL_QUEUE must be embedded or postgres (or leave it unset: the queue lives in the store)');
    if ((v === 'embedded') === pg) throw new Error(`EASEL_QUEUE=${v} does not match the store: the queue lives in ${pg ? 'PostgreSQL (EASEL_DATABASE_URL is set)' : 'SQLite (EASEL_DATABASE_URL is not set)'}`);
  }
  return pg ? 'postgres' : 'embedded';
}

function backendRouting(): 'sticky' | 'least_loaded' {
  const v = str('EASEL_BACKEND_ROUTING', 'sticky');
  if (v !== 'sticky' && v !== 'least_loaded') throw new Error('EASEL_BACKEND_ROUTING must be sticky or least_loaded');
  return v;
}

function secretsKey(): string | null {
  const v = process.env.EASEL_SECRETS_KEY || null;
  if (v !== null && v.length < MIN_SECRETS_KEY_LENGTH) throw new Error(`EASEL_SECRETS_KEY must be at least ${MIN_SECRETS_KEY_LENGTH} characters (e.g. openssl rand -base64 32)`);
  return v;
}

function dispatch(): 'fair' | 'fifo' {
  const v = str('EASEL_DISPATCH', 'fair');
  if (v !== 'fair' && v !== 'fifo') throw new Error('EASEL_DISPATCH must be fair or fifo');
  return v;
}

export function loadConfig(overrides: Partial<Config> = {}): Config {
  const dataDir = path.resolve(str('EASEL_DATA_DIR', './data'));
  const strict = str('EASEL_DEFAULT_STRICTNESS', 'normal');
  if (strict !== 'normal' && strict !== 'liberal') throw new Error('EASEL_DEFAULT_STRICTNESS must be normal or liberal');
  const cfg: Config = {
    host: str('EASEL_HOST', '127.0.0.1'),
    port: int('EASEL_PORT', 8080, 0, 65535),
    publicUrl: process.env.EASEL_PUBLIC_URL ? process.env.EASEL_PUBLIC_URL.replace(/\/+$/, '') : null,
    dataDir,
    databaseFile: path.resolve(dataDir, str('EASEL_SQLITE_FILE', 'easel.sqlite')),
    databaseUrl: process.env.EASEL_DATABASE_URL || null,
    databasePoolSize: int('EASEL_DATABASE_POOL_SIZE', 10, 1, 1000),
    databaseQueryTimeoutMs: int('EASEL_DATABASE_QUERY_TIMEOUT_MS', 8000, 1000, 600_000),
    databaseIdleTxTimeoutMs: int('EASEL_DATABASE_IDLE_TX_TIMEOUT_MS', 5000, 1000, 600_000),
    queueDriver: queueDriver(),
    s3: {
      endpoint: process.env.EASEL_S3_ENDPOINT || null,
      bucket: str('EASEL_S3_BUCKET', 'easel'),
      region: str('EASEL_S3_REGION', 'us-east-1'),
      accessKeyId: process.env.EASEL_S3_ACCESS_KEY_ID || null,
      secretAccessKey: process.env.EASEL_S3_SECRET_ACCESS_KEY || null,
      forcePathStyle: str('EASEL_S3_FORCE_PATH_STYLE', 'true') !== 'false',
      publicEndpoint: process.env.EASEL_S3_PUBLIC_ENDPOINT || null,
    },
    logLevel: str('EASEL_LOG_LEVEL', 'info'),
    workerConcurrency: int('EASEL_WORKER_CONCURRENCY', 4, 1, 256),
    runWorker: true,
    leaseMs: int('EASEL_LEASE_MS', 30_000, 500, 3_600_000),
    maxAttempts: int('EASEL_MAX_ATTEMPTS', 5, 1, 100),
    retryBaseMs: int('EASEL_RETRY_BASE_MS', 500, 1, 600_000),
    urlTtlS: int('EASEL_URL_TTL_S', 3600, 10, 7 * 24 * 3600),
    syncTimeoutS: int('EASEL_SYNC_TIMEOUT_S', 300, 1, 3600),
    maxBodyBytes: int('EASEL_MAX_BODY_BYTES', 1_048_576, 1024, 100 * 1024 * 1024),
    maxUploadBytes: int('EASEL_MAX_UPLOAD_BYTES', 52_428_800, 1024, 1024 * 1024 * 1024),
    uploadDailyCount: int('EASEL_UPLOAD_DAILY_COUNT', 500, 0, 100_000_000),
    uploadDailyBytes: int('EASEL_UPLOAD_DAILY_BYTES', 2 * 1024 ** 3, 0, Number.MAX_SAFE_INTEGER),
    uploadRetentionMs: Math.round(num('EASEL_UPLOAD_RETENTION_H', 24, 0.0001, 100 * 365 * 24) * 3_600_000),
    uploadConcurrency: int('EASEL_UPLOAD_CONCURRENCY', 2, 1, 64),
    imageWorkConcurrency: int('EASEL_IMAGE_WORK_CONCURRENCY', defaultImageWorkConcurrency(), 1, 256),
    maxConcurrentJobs: int('EASEL_MAX_CONCURRENT_JOBS', 4, 1, 10_000),
    maxQueuedJobs: int('EASEL_MAX_QUEUED_JOBS', 1000, 1, 10_000_000),
    maxBatchItems: int('EASEL_MAX_BATCH_ITEMS', 1000, 1, 100_000),
    maxActiveBatches: int('EASEL_MAX_ACTIVE_BATCHES', 10, 1, 100_000),
    maxBatchBytes: int('EASEL_MAX_BATCH_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    processConcurrency: int('EASEL_PROCESS_CONCURRENCY', 1, 0, 64),
    maxConcurrentFree: int('EASEL_MAX_CONCURRENT_FREE', 1, 1, 10_000),
    processTimeoutMs: int('EASEL_PROCESS_TIMEOUT_S', 30, 1, 3600) * 1000,
    processMemoryBytes: int('EASEL_PROCESS_MEMORY_MB', 768, 128, 65_536) * 1024 * 1024,
    processAvifMaxPixels: int('EASEL_PROCESS_AVIF_MAX_PIXELS', 16_777_216, 1, 50_000_000),
    processRemoveBgMaxPixels: int('EASEL_PROCESS_REMOVE_BG_MAX_PIXELS', 25_000_000, 1, 50_000_000),
    priorityAgingMs: int('EASEL_PRIORITY_AGING_S', 300, 0, 30 * 86_400) * 1000,
    dispatch: dispatch(),
    backendRouting: backendRouting(),
    backendProbeMs: int('EASEL_BACKEND_PROBE_MS', 5000, 50, 3_600_000),
    backendEjectAfter: int('EASEL_BACKEND_EJECT_AFTER', 3, 1, 1000),
    backendCooldownMs: int('EASEL_BACKEND_COOLDOWN_S', 30, 1, 86_400) * 1000,
    shutdownGraceMs: int('EASEL_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    modelsFile: process.env.EASEL_MODELS_FILE ? path.resolve(process.env.EASEL_MODELS_FILE) : null,
    allowLoopbackUrls: process.env.EASEL_ALLOW_LOOPBACK_URLS === 'true',
    sketchLatencyMs: int('EASEL_SKETCH_LATENCY_MS', 0, 0, 600_000),
    sketchFailures: int('EASEL_SKETCH_FAILURES', 0, 0, 1_000_000),
    sketchPriceEur: eur('EASEL_SKETCH_PRICE_EUR', '0.020000'),
    sketchFastPriceEur: eur('EASEL_SKETCH_FAST_PRICE_EUR', '0.010000'),
    defaultStrictness: strict,
    signingSecret: process.env.EASEL_SIGNING_SECRET || null,
    secretsKey: secretsKey(),
    crashAt: process.env.EASEL_CRASH_AT || null,
    crashSignal: process.env.EASEL_CRASH_SIGNAL || null,
    providerCallLog: process.env.EASEL_PROVIDER_CALL_LOG || null,
    rateLimitPerMin: int('EASEL_RATE_LIMIT_PER_MIN', 600, 0, 10_000_000),
    rateLimitAccountPerMin: int('EASEL_RATE_LIMIT_ACCOUNT_PER_MIN', ACCOUNT_RATE_MULTIPLE * int('EASEL_RATE_LIMIT_PER_MIN', 600, 0, 10_000_000), 0, 100_000_000),
    authFailuresPerMin: int('EASEL_AUTH_FAILURES_PER_MIN', 30, 0, 10_000_000),
    redisUrl: process.env.EASEL_REDIS_URL || null,
    requestTimeoutMs: int('EASEL_REQUEST_TIMEOUT_MS', 60_000, 0, 3_600_000),
    refusedBodyDrainBytes: int('EASEL_REFUSED_BODY_DRAIN_BYTES', 4 * 1024 * 1024, 0, 1024 * 1024 * 1024),
    metricsToken: process.env.EASEL_METRICS_TOKEN || null,
    metricsPort: process.env.EASEL_METRICS_PORT ? int('EASEL_METRICS_PORT', 0, 0, 65535) : null,
    moderationBlocklist: moderationBlocklistFile(),
    c2paCert: process.env.EASEL_C2PA_CERT || null,
    c2paKey: process.env.EASEL_C2PA_KEY || null,
    webhookRetryBaseMs: int('EASEL_WEBHOOK_RETRY_BASE_MS', 5_000, 1, 3_600_000),
    webhookTimeoutMs: int('EASEL_WEBHOOK_TIMEOUT_MS', 10_000, 100, 120_000),
    webhookRetryWindowS: int('EASEL_WEBHOOK_RETRY_WINDOW_S', 86_400, 1, 7 * 86_400),
    webhookPollMs: int('EASEL_WEBHOOK_POLL_MS', 500, 10, 60_000),
    retentionS: process.env.EASEL_RETENTION_S ? int('EASEL_RETENTION_S', 1, 1, 100 * 365 * 86_400) : int('EASEL_RETENTION_DAYS', 30, 1, 36_500) * 86_400,
    retentionSweepMs: int('EASEL_RETENTION_SWEEP_MS', 60_000, 100, 86_400_000),
    validateResponses: process.env.EASEL_VALIDATE_RESPONSES === '1',
    ...overrides,
  };
  return cfg;
}
