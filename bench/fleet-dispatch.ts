/**
 * Fleet dispatch overhead (issue 19): K = 1, 2, 4, 8 backends of fixed latency L and concurrency 1
 * each, driven through a PoolProvider in this process on the mode's real store (a SQLite file, or a
 * fresh PostgreSQL database): every call takes a slot in the store (Fleet.acquire, one transaction),
 * waits for one when all are busy, and gives it back (Fleet.release, another). The backends are
 * in-process stubs that answer after exactly L ms, so the row measures routing and the shared
 * state, not an HTTP stack. Target: throughput ≥ 0.9 × K / L at every K (dispatch overhead ≤ 10 %).
 *
 * Anchor (same run, same stubs): K callers each calling "their" backend directly in a loop — perfect
 * dispatch with no store and no routing. Callers through the pool: 2 × K, so a slot never waits for
 * a caller.
 *
 * Standalone: `EASEL_TEST_MODE=embedded node --import tsx bench/fleet-dispatch.ts` (BENCH_SECONDS per phase,
 * BENCH_FLEET_LATENCY_MS for another L).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqlite, migrate, type Db } from '../src/store/db.js';
import { openPostgres } from '../src/store/postgres.js';
import { Fleet } from '../src/fleet/fleet.js';
import { PoolProvider } from '../src/fleet/pool-provider.js';
import type { GenerateInput, ImageProvider, ProviderOutput } from '../src/providers/port.js';
import { MODE, createDatabase, dropDatabase } from '../test/helpers/server.js';

export const FLEET_KS = [1, 2, 4, 8];
export const FLEET_LATENCY_MS = 100;

/** A backend that answers after exactly `latencyMs` and counts the most calls it ever had at once. */
class StubBackend implements ImageProvider {
  readonly capabilities = { operations: ['generate' as const], multiturn: false, maxConcurrency: 1 };
  private now = 0;
  most = 0;
  constructor(
    readonly id: string,
    private readonly latencyMs: number,
  ) {}
  async generate(): Promise<ProviderOutput> {
    this.now++;
    this.most = Math.max(this.most, this.now);
    await new Promise((r) => setTimeout(r, this.latencyMs));
    this.now--;
    return { bytes: Buffer.alloc(0), mime: 'image/png' };
  }
}

const input = (): GenerateInput => ({ prompt: 'bench', width: 64, height: 64, seed: 1, references: [], signal: new AbortController().signal }) as unknown as GenerateInput;

/**
 * Calls per second of `callers` loops of `call`: each loop starts calls for `seconds`, the last ones
 * finish, and the rate is every call over the time to the last finish (no call is cut at the edge).
 */
async function closedLoop(callers: number, seconds: number, call: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      while (performance.now() < end) {
        await call(i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - t0) / 1000);
}

export interface FleetPoint {
  k: number;
  ideal: number;
  pool: number;
  anchor: number;
  mostAtOnce: number;
}

export async function fleetDispatch(seconds: number, latencyMs = FLEET_LATENCY_MS, ks = FLEET_KS): Promise<FleetPoint[]> {
  const url = MODE === 'scaleout' ? await createDatabase() : null;
  const dir = url ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'easel-bench-fleet-'));
  const db: Db = url ? openPostgres(url, 10).db : openSqlite(path.join(dir!, 'easel.sqlite'));
  try {
    await migrate(db);
    const fleet = new Fleet(db, { dialect: url ? 'postgres' : 'sqlite', ejectAfter: 3 });
    const points: FleetPoint[] = [];
    for (const k of ks) {
      const stubs = Array.from({ length: k }, (_, i) => new StubBackend(`stub-${i}`, latencyMs));
      const members = stubs.map((provider, i) => ({ id: `bench-k${k}-${i}`, url: `http://gpu-${i}.bench:8188`, provider }));
      for (const m of members) fleet.declare({ id: m.id, pool: `bench-k${k}`, vendor: 'ComfyUI', url: m.url, maxConcurrency: 1, weight: 1, labels: {} });
      await fleet.register();
      const pool = new PoolProvider(`bench-k${k}`, members, fleet, { pool: `bench-k${k}`, model: 'bench.safetensors', trackModel: true, routing: 'sticky', leaseMs: 60_000, overflowAfterMs: null, callLog: null });
      const anchor = await closedLoop(k, seconds, (i) => stubs[i]!.generate());
      const through = await closedLoop(2 * k, seconds, () => pool.generate(input()));
      points.push({ k, ideal: (k * 1000) / latencyMs, pool: through, anchor, mostAtOnce: Math.max(...stubs.map((s) => s.most)) });
    }
    return points;
  } finally {
    await db.destroy();
    if (url) await dropDatabase(url);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const points = await fleetDispatch(Number(process.env.BENCH_SECONDS ?? 5), Number(process.env.BENCH_FLEET_LATENCY_MS ?? FLEET_LATENCY_MS));
  for (const p of points) console.log(`K=${p.k}: pool ${p.pool.toFixed(2)}/s, direct ${p.anchor.toFixed(2)}/s, ideal ${p.ideal}/s, ratio to ideal ${(p.pool / p.ideal).toFixed(3)}, most at once ${p.mostAtOnce}`);
  process.exit(0);
}
