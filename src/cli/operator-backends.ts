import type { Command } from 'commander';
import type { Db } from '../store/db.js';
import { snapshotOf } from '../fleet/fleet.js';
import { isoSeconds } from '../util/time.js';

type WithDb = <T>(fn: (db: Db) => Promise<T>) => Promise<T>;

/** `easel backends`: every backend of every pool as the workers see it (src/fleet/). */
export function registerBackendCommands(program: Command, withDb: WithDb): void {
  program
    .command('backends')
    .description('every backend of every pool: healthy, calls in flight, capacity, latency, errors, loaded model')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const rows = await withDb((db) => snapshotOf(db));
      const view = rows.map((b) => ({
        pool: b.pool,
        backend: b.url,
        healthy: b.healthy,
        in_flight: b.inFlight,
        capacity: b.maxConcurrency,
        weight: b.weight,
        latency_ewma_ms: b.latencyEwmaMs === null ? null : Math.round(b.latencyEwmaMs),
        calls: b.callsTotal,
        errors: b.errorsTotal,
        loaded_model: b.loadedModel,
        labels: b.labels,
        ejected_at: b.ejectedAt === null || b.healthy ? null : isoSeconds(b.ejectedAt),
        last_error: b.lastError,
      }));
      if (o.json) console.log(JSON.stringify(view, null, 2));
      else if (view.length === 0) console.log('no pools: every vendor has one endpoint (a comma-separated base URL or key list, or a model\'s endpoints, makes a pool)');
      else console.table(view.map((v) => ({ ...v, labels: Object.entries(v.labels).map(([k, x]) => `${k}=${x}`).join(' '), last_error: v.last_error?.slice(0, 60) ?? '' })));
    });
}
