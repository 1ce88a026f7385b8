import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../store/db.js';
import type { BackendTable } from '../store/schema.js';
import { chooseBackend, type BackendView, type Routing } from './routing.js';

/** One endpoint a pool sends work to, as configured (env list, catalogue `endpoints`, or a key of a hosted vendor). */
export interface EndpointSpec {
  /** Stable across processes and restarts: derived from vendor, address and key (never the key itself). */
  id: string;
  pool: string;
  vendor: string;
  /** Shown to operators; never carries a key. */
  url: string;
  maxConcurrency: number;
  weight: number;
  labels: Record<string, string>;
}

export interface Lease {
  token: string;
  backendId: string;
}

export interface CallOutcome {
  /** false: the backend failed (unreachable, 5xx, timeout); a request the backend refused for its own reasons is not its fault. */
  ok: boolean;
  latencyMs: number;
  /** The model the call ran: for backends that do not report theirs (ComfyUI), what they now have loaded. */
  model: string | null;
  error?: string;
}

export interface FleetOptions {
  dialect: 'sqlite' | 'postgres';
  /** Consecutive failures (calls or probes) after which a backend is ejected until a probe succeeds. */
  ejectAfter: number;
}

/** Latency EWMA weight of the newest call. */
const ALPHA = 0.3;

/**
 * The shared state of every pool, in the store: which backends exist, which are healthy, what each
 * has loaded, and the calls in flight on each (leases). Every process routes through it, so a
 * backend's max_concurrency holds across all worker processes, and `easel backends` reads the same
 * rows. A slot is taken in one transaction that locks the candidate backends' rows (PostgreSQL;
 * SQLite's write lock does the same), counts their live leases and inserts the new one.
 */
export class Fleet {
  private readonly declared = new Map<string, EndpointSpec>();
  /** Calls of this process waiting for a slot, oldest first, each with the backends it can use. */
  private readonly waiting = new Set<{ ids: ReadonlySet<string>; wake: () => void }>();

  constructor(
    private readonly db: Db,
    readonly opts: FleetOptions,
  ) {
  }

  /** Called while providers are built (synchronously); `register` writes them once the catalogue is whole. */
  declare(spec: EndpointSpec): void {
    this.declared.set(spec.id, spec);
  }

  /** Upserts every declared backend: configuration follows this process's settings; health and counters are kept. */
  async register(): Promise<void> {
    const now = Date.now();
    for (const e of this.declared.values()) {
      await this.db
        .insertInto('backends')
        .values({
          id: e.id,
          pool: e.pool,
          vendor: e.vendor,
          url: e.url,
          max_concurrency: e.maxConcurrency,
          weight: e.weight,
          labels_json: JSON.stringify(e.labels),
          healthy: 1,
          consecutive_failures: 0,
          ejected_at: null,
          last_error: null,
          last_probe_at: null,
          latency_ewma_ms: null,
          loaded_model: null,
          calls_total: 0,
          errors_total: 0,
          model_loads_total: 0,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.column('id').doUpdateSet({ pool: e.pool, url: e.url, max_concurrency: e.maxConcurrency, weight: e.weight, labels_json: JSON.stringify(e.labels), updated_at: now }),
        )
        .execute();
    }
  }

  /**
   * Takes a slot on the best backend of `ids` for a call of `model` (src/fleet/routing.ts), or says
   * why not: every healthy backend is full, or none is healthy.
   */
  async acquire(ids: readonly string[], model: string | null, routing: Routing, exclude: ReadonlySet<string>, leaseMs: number): Promise<Lease | 'full' | 'none_healthy'> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
      let rows = trx.selectFrom('backends').selectAll().where('id', 'in', [...ids]).orderBy('id');
      if (this.opts.dialect === 'postgres') rows = rows.forUpdate();
      const backends = await rows.execute();
      const live = await trx
        .selectFrom('backend_leases')
        .select(['backend_id', 'model', sql<number>`count(*)`.as('n')])
        .where('backend_id', 'in', [...ids])
        .where('expires_at', '>', now)
        .groupBy(['backend_id', 'model'])
        .execute();
      const inFlight = new Map<string, number>();
      const running = new Map<string, string[]>();
      for (const r of live) {
        inFlight.set(r.backend_id, (inFlight.get(r.backend_id) ?? 0) + Number(r.n));
        if (r.model) running.set(r.backend_id, [...(running.get(r.backend_id) ?? []), r.model]);
      }
      const views = backends.map((b) => ({ ...viewOf(b, inFlight.get(b.id) ?? 0), running: running.get(b.id) ?? [] }));
      if (!views.some((v) => v.healthy && !exclude.has(v.id))) return 'none_healthy' as const;
      const chosen = chooseBackend(views, model, routing, exclude);
      if (!chosen) return 'full' as const;
      const token = randomUUID();
      await trx.insertInto('backend_leases').values({ token, backend_id: chosen.id, model, acquired_at: now, expires_at: now + leaseMs }).execute();
      return { token, backendId: chosen.id };
    });
  }

  /** Ends a call: frees its slot and folds its outcome into the backend's health, latency and loaded model. */
  async release(lease: Lease, outcome: CallOutcome, trackModel: boolean): Promise<void> {
    // A good call frees its slot at once, and the oldest call of this process waiting for that backend
    // takes it while the backend's counters are updated; a failure's slot frees with its verdict (a
    // backend about to be ejected is not handed the next call).
    if (outcome.ok) {
      await this.db.deleteFrom('backend_leases').where('token', '=', lease.token).execute();
      this.wakeOne(lease.backendId);
    }
    await this.db.transaction().execute(async (trx) => {
      if (!outcome.ok) await trx.deleteFrom('backend_leases').where('token', '=', lease.token).execute();
      let rows = trx.selectFrom('backends').selectAll().where('id', '=', lease.backendId);
      if (this.opts.dialect === 'postgres') rows = rows.forUpdate();
      const b = await rows.executeTakeFirst();
      if (!b) return;
      const failures = outcome.ok ? 0 : Number(b.consecutive_failures) + 1;
      const eject = !outcome.ok && failures >= this.opts.ejectAfter && Number(b.healthy) === 1;
      const loaded = outcome.ok && trackModel && outcome.model ? outcome.model : b.loaded_model;
      const ewma = b.latency_ewma_ms == null ? outcome.latencyMs : ALPHA * outcome.latencyMs + (1 - ALPHA) * Number(b.latency_ewma_ms);
      await trx
        .updateTable('backends')
        .set({
          calls_total: sql`calls_total + 1`,
          errors_total: outcome.ok ? sql`errors_total` : sql`errors_total + 1`,
          consecutive_failures: failures,
          healthy: eject ? 0 : b.healthy,
          ejected_at: eject ? Date.now() : b.ejected_at,
          last_error: outcome.ok ? b.last_error : (outcome.error ?? 'failed').slice(0, 500),
          latency_ewma_ms: outcome.ok ? ewma : b.latency_ewma_ms,
          loaded_model: loaded,
          model_loads_total: loaded !== b.loaded_model && b.loaded_model !== null ? sql`model_loads_total + 1` : sql`model_loads_total`,
          updated_at: Date.now(),
        })
        .where('id', '=', lease.backendId)
        .execute();
    });
    if (!outcome.ok) this.wakeOne(lease.backendId);
  }

  /** Wakes the oldest waiter of this process that can use `backendId` (one slot freed: one waiter). */
  private wakeOne(backendId: string): void {
    for (const w of this.waiting) {
      if (w.ids.has(backendId)) {
        w.wake();
        return;
      }
    }
  }

  /** A probe's verdict: success readmits an ejected backend (and may report its loaded model); failures count toward ejection. */
  async probed(id: string, ok: boolean, detail: { loadedModel?: string | null; error?: string }): Promise<'readmitted' | 'ejected' | null> {
    return this.db.transaction().execute(async (trx) => {
      // Locked like release's read (PostgreSQL), so a probe and a call ending at once count both their verdicts.
      let read = trx.selectFrom('backends').selectAll().where('id', '=', id);
      if (this.opts.dialect === 'postgres') read = read.forUpdate();
      const b = await read.executeTakeFirst();
      if (!b) return null;
      const now = Date.now();
      if (ok) {
        await trx
          .updateTable('backends')
          .set({
            healthy: 1,
            consecutive_failures: 0,
            last_probe_at: now,
            updated_at: now,
            ...(detail.loadedModel !== undefined && detail.loadedModel !== null ? { loaded_model: detail.loadedModel } : {}),
          })
          .where('id', '=', id)
          .execute();
        return Number(b.healthy) === 0 ? 'readmitted' : null;
      }
      const failures = Number(b.consecutive_failures) + 1;
      const eject = failures >= this.opts.ejectAfter && Number(b.healthy) === 1;
      await trx
        .updateTable('backends')
        .set({ consecutive_failures: failures, healthy: eject ? 0 : b.healthy, ejected_at: eject ? now : b.ejected_at, last_error: (detail.error ?? 'probe failed').slice(0, 500), last_probe_at: now, updated_at: now })
        .where('id', '=', id)
        .execute();
      return eject ? 'ejected' : null;
    });
  }

  /**
   * Resolves when a slot of one of `ids` may have freed: a release in this process wakes the oldest
   * waiter that can use it (not every waiter: they would all race for the one slot), and every waiter
   * looks again after `ms` (a release in another process).
   */
  async waitForSlot(ms: number, signal: AbortSignal, ids: readonly string[] = []): Promise<void> {
    await new Promise<void>((resolve) => {
      const w = { ids: new Set(ids), wake: () => done() };
      const done = () => {
        clearTimeout(t);
        this.waiting.delete(w);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiting.add(w);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Every backend with its calls in flight now (for `easel backends`, /health and /metrics). */
  snapshot(): ReturnType<typeof snapshotOf> {
    return snapshotOf(this.db);
  }
}

/** The fleet as the store holds it, read without a Fleet (the operator CLI). */
export async function snapshotOf(db: Db) {
  const now = Date.now();
  const backends = await db.selectFrom('backends').selectAll().orderBy('pool').orderBy('url').execute();
  const live = await db.selectFrom('backend_leases').select(['backend_id', sql<number>`count(*)`.as('n')]).where('expires_at', '>', now).groupBy('backend_id').execute();
  const inFlight = new Map(live.map((r) => [r.backend_id, Number(r.n)]));
  return backends.map((b) => ({
    ...viewOf(b, inFlight.get(b.id) ?? 0),
    pool: b.pool,
    vendor: b.vendor,
    url: b.url,
    labels: JSON.parse(b.labels_json) as Record<string, string>,
    callsTotal: Number(b.calls_total),
    errorsTotal: Number(b.errors_total),
    modelLoadsTotal: Number(b.model_loads_total),
    lastError: b.last_error,
    ejectedAt: b.ejected_at == null ? null : Number(b.ejected_at),
    lastProbeAt: b.last_probe_at == null ? null : Number(b.last_probe_at),
  }));
}

function viewOf(b: BackendTable, inFlight: number): BackendView {
  return {
    id: b.id,
    maxConcurrency: Number(b.max_concurrency),
    weight: Number(b.weight),
    healthy: Number(b.healthy) === 1,
    inFlight,
    loadedModel: b.loaded_model,
    latencyEwmaMs: b.latency_ewma_ms == null ? null : Number(b.latency_ewma_ms),
  };
}
