import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../../app.js';
import { errorResponses } from '../../contract/common.js';
import { ModelList, PricingList } from '../../contract/models.js';
import { microsToEur } from '../../util/money.js';
import { isoSeconds } from '../../util/time.js';
import type { ModelEntry } from '../../providers/catalogue.js';
import { pingStore } from '../../store/ping.js';
import { HealthCache } from '../health-cache.js';

const DISCLAIMER = 'Prices are estimates per generation; the cost_eur of each response is what was charged. Prices can change.';
const startedAt = Date.now();

function modelView(m: ModelEntry) {
  return {
    id: m.id,
    name: m.name,
    description: m.description,
    aliases: m.aliases,
    operations: m.operations,
    can_generate: m.operations.includes('generate'),
    can_edit: m.operations.includes('edit'),
    supports_multiturn: m.supportsMultiturn,
    aspect_ratios: [...m.aspectRatios],
    image_sizes: [] as string[],
    fixed_sizes: m.fixedSizes ?? [],
    output_formats: m.outputFormats,
    approximate_cost_eur: microsToEur(m.priceMicros),
    max_characters: m.maxCharacters,
    max_combine_inputs: m.maxCombineInputs,
    // Issue 22: a cacheable model's terms; nothing for the others (the Depicta fields stay as they are).
    ...(m.cache ? { cacheable: true as const, cache_price_eur: microsToEur(m.cache.priceMicros), cache_shared: m.cache.shared } : {}),
  };
}

export function metaRoutes(app: FastifyInstance, s: Services): void {
  const health = new HealthCache(async () => {
    const [store, queue, storage] = await Promise.all([
      pingStore(s.db).then(
        () => ({ ok: true }),
        (e: Error) => ({ ok: false, detail: e.message }),
      ),
      s.queue.stats().then(
        (st) => ({ ok: true, ready: st.ready, leased: st.leased, oldest_ready_age_s: st.oldestReadyAgeMs == null ? null : Math.round(st.oldestReadyAgeMs / 1000) }),
        (e: Error) => ({ ok: false, detail: e.message }),
      ),
      s.blob.health(),
    ]);
    // A pool with no healthy backend degrades the service (its models fail or fall back) but not the API: still 200.
    const pools = new Map<string, { pool: string; healthy: number; total: number }>();
    for (const b of store.ok ? await s.fleet.snapshot().catch(() => []) : []) {
      const p = pools.get(b.pool) ?? { pool: b.pool, healthy: 0, total: 0 };
      p.total += 1;
      if (b.healthy) p.healthy += 1;
      pools.set(b.pool, p);
    }
    return { store, queue, storage, pools, checkedAt: Date.now() };
  });
  app.get(
    '/health',
    {
      config: { public: true },
      schema: {
        summary: 'Liveness and dependency health',
        description:
          'Store, queue and storage health: 503 (with Retry-After) when one is down; status `degraded` with 200 when a backend pool has no healthy backend. The dependency checks are shared by all callers of one process: at most one runs at a time, a report is reused for 1 s and, while a fresh check runs, a report up to 5 s old is answered at once (`checked_at` says when it was made), so /health stays fast when a dependency is slow and a flood of probes costs one check a second.',
        tags: ['meta'],
        response: { 200: Type.Object({}, { additionalProperties: true }), 503: Type.Object({}, { additionalProperties: true }) },
      },
    },
    async (_req, reply) => {
      const { store, queue, storage, pools, checkedAt } = await health.current();
      const ok = store.ok && queue.ok && storage.ok;
      const poolDown = [...pools.values()].some((p) => p.healthy === 0);
      // A dependency down: load balancers and clients are told when to look again.
      if (!ok) reply.header('retry-after', '5');
      return reply.code(ok ? 200 : 503).send({
        status: ok && !poolDown ? 'ok' : 'degraded',
        ...(pools.size > 0 ? { backends: { pools: [...pools.values()].map((p) => ({ ...p, ok: p.healthy > 0 })) } } : {}),
        store: { ...store, driver: s.drivers.store },
        queue: { ...queue, driver: s.drivers.queue, workers: s.worker ? { concurrency: s.config.workerConcurrency, in_flight: s.worker.inFlight } : null },
        storage: { ...storage, driver: s.drivers.storage },
        uptime_s: Math.round((Date.now() - startedAt) / 1000),
        checked_at: new Date(checkedAt).toISOString(),
      });
    },
  );

  app.get(
    '/v1/models',
    { schema: { summary: 'The model catalogue and capabilities', tags: ['models'], response: { 200: ModelList, ...errorResponses(401) } } },
    async () => ({ models: s.catalogue.models.map(modelView), cached_at: isoSeconds(startedAt), disclaimer: DISCLAIMER }),
  );

  app.get(
    '/v1/pricing',
    { config: { public: true }, schema: { summary: 'Approximate prices per model (public)', tags: ['models'], response: { 200: PricingList } } },
    async () => ({
      currency: 'EUR',
      prices: s.catalogue.models.map((m) => ({ model: m.id, name: m.name, aliases: m.aliases, operations: m.operations, approximate_cost_eur: microsToEur(m.priceMicros), unit: 'generation' })),
      processing_cost_eur: '0.000000',
      disclaimer: DISCLAIMER,
    }),
  );

  app.get('/v1/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  app.get('/v1/openapi.yaml', { config: { public: true }, schema: { hide: true } }, async (_req, reply) =>
    reply.type('application/yaml; charset=utf-8').send(app.swagger({ yaml: true })),
  );
}
