import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../store/db.js';
import { foldSummaries, jobCounts, ledgerTotals } from '../store/summaries.js';
import type { JobQueue } from '../queue/port.js';
import { snapshotOf } from '../fleet/fleet.js';
import type { Catalogue } from '../providers/catalogue.js';
import type { ImageProvider } from '../providers/port.js';
import { EaselError, JobFailure } from '../errors.js';
import { HttpSeries } from './http-series.js';

/**
 * Prometheus metrics of this process (prom-client). One registry per process: API processes
 * serve it at GET /metrics, `easel worker` on EASEL_METRICS_PORT. Counters and histograms are
 * per process (Prometheus sums them over instances); the gauges read from the database describe
 * the whole deployment, so any one instance's value is the fleet's.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'easel_' });

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** easel_http_requests_total and easel_http_request_duration_seconds: src/observability/http-series.ts. */
const httpSeries = new HttpSeries(
  { name: 'easel_http_requests_total', help: 'HTTP requests answered, by method, route template and status code.' },
  {
    name: 'easel_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its response (a synchronous generation includes its wait).',
    buckets: LATENCY_BUCKETS,
  },
);
httpSeries.register(registry);

export const providerDuration = new Histogram({
  name: 'easel_provider_request_duration_seconds',
  help: 'Model provider calls, by model, provider, operation and outcome (ok, error, aborted).',
  labelNames: ['model', 'provider', 'operation', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [registry],
});

export const providerErrors = new Counter({
  name: 'easel_provider_errors_total',
  help: 'Failed model provider calls, by model, provider and error code.',
  labelNames: ['model', 'provider', 'code'] as const,
  registers: [registry],
});

/** Counted by the process that made the attempt (a worker): scrape every worker's /metrics. */
export const webhookDeliveries = new Counter({
  name: 'easel_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome: delivered (2xx), failed (will be retried), gave_up (retry window over or target refused).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookLatency = new Histogram({
  name: 'easel_webhook_attempt_seconds',
  help: 'Time from sending a webhook attempt to its answer (or failure).',
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const rateLimited = new Counter({
  name: 'easel_rate_limited_total',
  help: 'Requests refused with 429 by a request limit: limit="key" (per API key), "account" (per account), "address" (failed authentications from one address).',
  labelNames: ['limit'] as const,
  registers: [registry],
});

/** Observed by the worker that claims: scrape every worker's /metrics. */
export const queueWait = new Histogram({
  name: 'easel_queue_wait_seconds',
  help: 'Time from submit to first claim, by the weight class of the job\'s account.',
  labelNames: ['weight'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600],
  registers: [registry],
});

/**
 * Transitions refused because their writer no longer held the job (it paused past its lease and
 * another worker took the job): nothing was written. A steady rate says leases are too short for
 * the pauses this deployment sees (GC, a stopped VM, an overloaded host).
 */
export const staleWrites = new Counter({
  name: 'easel_job_stale_writes_total',
  help: 'Job transitions refused because the worker making them had lost its claim (fenced; nothing written), by transition.',
  labelNames: ['transition'] as const,
  registers: [registry],
});

/** Processing operations stopped by a budget (src/pipelines/process/budgets.ts): pixels from the header, or time or memory while running. */
export const processingBudgetExceeded = new Counter({
  name: 'easel_processing_budget_exceeded_total',
  help: 'Processing operations refused or stopped by a budget (422 processing_budget_exceeded), by budget: pixels, time, memory.',
  labelNames: ['budget'] as const,
  registers: [registry],
});

/** Live progress (src/progress/): the reporter's writes by outcome, and SSE reports held back for a slow reader. */
export const progressWrites = new Counter({
  name: 'easel_progress_writes_total',
  help: 'Progress reports written to a running job, by outcome: written, refused (the claim no longer owns the job), failed (storage or database error; the job went on).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const progressHeldBack = new Counter({
  name: 'easel_sse_progress_held_back_total',
  help: 'job.progress events not written because the stream had unsent bytes (a slow reader); it gets the latest report when it reads again.',
  registers: [registry],
});

/** Route label: the template, never the raw URL (ids and junk would explode the series count). */
export function observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
  httpSeries.observe(method, route ?? 'unmatched', status, seconds);
}

function failureCode(e: unknown): string {
  if (e instanceof JobFailure || e instanceof EaselError) return e.code;
  return 'internal_error';
}

/** Wraps one provider so each call is timed and counted under the model that used it. */
export function instrumentProvider(provider: ImageProvider, model: string): ImageProvider {
  const wrap = (operation: 'generate' | 'edit' | 'combine', fn: (input: never) => Promise<unknown>) =>
    async (input: { signal?: AbortSignal }) => {
      const end = providerDuration.startTimer({ model, provider: provider.id, operation });
      try {
        const out = await fn.call(provider, input as never);
        end({ outcome: 'ok' });
        return out;
      } catch (e) {
        const aborted = input.signal?.aborted === true;
        end({ outcome: aborted ? 'aborted' : 'error' });
        if (!aborted) providerErrors.inc({ model, provider: provider.id, code: failureCode(e) });
        throw e;
      }
    };
  return new Proxy(provider, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if ((prop === 'generate' || prop === 'edit' || prop === 'combine') && typeof value === 'function') {
        return wrap(prop, value as (input: never) => Promise<unknown>);
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

const instrumented = new WeakSet<object>();

/** Instruments every model of the catalogue in place (idempotent). Every pipeline calls providers through it. */
export function instrumentCatalogue(catalogue: Catalogue): void {
  for (const m of catalogue.models) {
    if (instrumented.has(m)) continue;
    m.provider = instrumentProvider(m.provider, m.id);
    instrumented.add(m);
  }
}

/** A value read from the database at most once per `ttlMs`, however many gauges or scrapes ask. */
function cached<T>(ttlMs: number, load: () => Promise<T>): () => Promise<T> {
  let at = 0;
  let value: Promise<T> | null = null;
  return () => {
    if (!value || Date.now() - at > ttlMs) {
      at = Date.now();
      value = load().catch((e: unknown) => {
        value = null;
        throw e;
      });
    }
    return value;
  };
}

let dbCollectorsFor: Db | null = null;

/**
 * A gauge with one series per row of a (cached) read of the store, rebuilt at each scrape; an unreachable
 * store keeps the last values (/health says so).
 */
function rowGauge<R, L extends string>(name: string, help: string, labelNames: L[], rows: () => Promise<R[]>, labels: (r: R) => Record<L, string>, value: (r: R) => number): void {
  new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const all = await rows().catch(() => null);
      if (!all) return;
      this.reset();
      for (const r of all) this.set(labels(r), value(r));
    },
  });
}

/**
 * Gauges read at scrape time from the store and the queue: jobs by state, queue depth and the age
 * of its oldest ready task, and the ledger's totals. Cached for 5 s so scrapes stay cheap.
 */
export function registerStoreCollectors(db: Db, queue: JobQueue): void {
  if (dbCollectorsFor) return;
  dbCollectorsFor = db;
  // Read from the summaries (migration 0018), not counted over every job: a scrape costs the same
  // at ten thousand stored jobs as at a million. Folding first keeps the delta tables short.
  const jobs = cached(5000, async () => {
    await foldSummaries(db).catch(() => undefined);
    return jobCounts(db);
  });
  const stats = cached(5000, () => queue.stats());
  // The balances' sums come from the same ledger totals: every change of an account's available or
  // held amount is a ledger row (`easel verify` checks each account against its rows), so the sum
  // over the kinds is the sum over the accounts — without reading every account row per scrape.
  const ledger = cached(5000, async () => {
    const rows = await ledgerTotals(db);
    return { rows, available: rows.reduce((n, r) => n + Number(r.a), 0), held: rows.reduce((n, r) => n + Number(r.h), 0) };
  });

  new Gauge({
    name: 'easel_jobs',
    help: 'Jobs in the store by state and operation (read from the database).',
    labelNames: ['state', 'operation'] as const,
    registers: [registry],
    async collect() {
      const rows = await jobs().catch(() => null);
      if (!rows) return; // the store is unreachable: /health says so; keep the last values
      this.reset();
      for (const st of ['pending', 'processing', 'completed', 'failed', 'canceled']) this.set({ state: st, operation: 'all' }, 0);
      const totals = new Map<string, number>();
      for (const r of rows) {
        this.set({ state: r.status, operation: r.operation }, Number(r.n));
        totals.set(r.status, (totals.get(r.status) ?? 0) + Number(r.n));
      }
      for (const [st, n] of totals) this.set({ state: st, operation: 'all' }, n);
    },
  });
  new Gauge({
    name: 'easel_queue_depth',
    help: 'Queue tasks ready to run (waiting for a worker).',
    registers: [registry],
    async collect() {
      const s = await stats().catch(() => null);
      if (s) this.set(s.ready);
    },
  });
  const fleet = cached(5000, () => snapshotOf(db));
  const perBackend = (name: string, help: string, value: (b: Awaited<ReturnType<typeof snapshotOf>>[number]) => number) =>
    rowGauge(name, help, ['pool', 'backend'], fleet, (b) => ({ pool: b.pool, backend: b.url }), value);
  perBackend('easel_backend_healthy', 'Backends of each pool: 1 healthy, 0 ejected (src/fleet/).', (b) => (b.healthy ? 1 : 0));
  perBackend('easel_backend_in_flight', 'Calls in flight on each backend, from every process.', (b) => b.inFlight);
  perBackend('easel_backend_capacity', "Each backend's max_concurrency.", (b) => b.maxConcurrency);
  perBackend('easel_backend_latency_ewma_seconds', 'Exponentially weighted average call time of each backend (0 before its first call).', (b) => (b.latencyEwmaMs ?? 0) / 1000);
  perBackend('easel_backend_calls_total', 'Calls sent to each backend since it was first registered (a counter kept in the store).', (b) => b.callsTotal);
  perBackend('easel_backend_errors_total', 'Failed calls of each backend since it was first registered (a counter kept in the store).', (b) => b.errorsTotal);
  const depth = cached(5000, () => queue.depth());
  const perWeight = (name: string, help: string, value: (r: Awaited<ReturnType<JobQueue['depth']>>[number]) => number) =>
    rowGauge(name, help, ['weight'], depth, (r) => ({ weight: String(r.weight) }), value);
  perWeight('easel_queue_depth_by_weight', 'Jobs waiting to start, by the weight class of their account (accounts of one weight form one class; label "weight").', (r) => r.queued);
  perWeight('easel_queue_accounts_waiting', 'Accounts with jobs in the queue, by weight class.', (r) => r.accounts);
  new Gauge({
    name: 'easel_queue_leased',
    help: 'Queue tasks held by a worker under a lease (running).',
    registers: [registry],
    async collect() {
      const s = await stats().catch(() => null);
      if (s) this.set(s.leased);
    },
  });
  new Gauge({
    name: 'easel_queue_oldest_ready_age_seconds',
    help: 'Age of the oldest ready task (0 when none waits). A growing value means workers cannot keep up.',
    registers: [registry],
    async collect() {
      const s = await stats().catch(() => null);
      if (s) this.set(s.oldestReadyAgeMs == null ? 0 : s.oldestReadyAgeMs / 1000);
    },
  });
  new Gauge({
    name: 'easel_ledger_micro_eur',
    help: 'Ledger totals since the start, in micro-EUR: grant (credits added), hold, capture (charged), release (returned holds).',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const l = await ledger().catch(() => null);
      if (!l) return;
      const by = new Map(l.rows.map((r) => [r.kind, { a: Number(r.a), h: Number(r.h) }]));
      this.set({ kind: 'grant' }, by.get('grant')?.a ?? 0);
      this.set({ kind: 'hold' }, by.get('hold')?.h ?? 0);
      this.set({ kind: 'capture' }, -(by.get('capture')?.h ?? 0));
      this.set({ kind: 'release' }, by.get('release')?.a ?? 0);
    },
  });
  new Gauge({
    name: 'easel_balance_micro_eur',
    help: 'Sum over accounts, in micro-EUR: available (spendable) and held (reserved by running jobs).',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const l = await ledger().catch(() => null);
      if (!l) return;
      this.set({ kind: 'available' }, l.available);
      this.set({ kind: 'held' }, l.held);
    },
  });
}

export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: registry.contentType, body: await registry.metrics() };
}
