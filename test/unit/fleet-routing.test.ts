import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chooseBackend, type BackendView } from '../../src/fleet/routing.js';
import { Fleet, type EndpointSpec, type Lease } from '../../src/fleet/fleet.js';
import { PoolProvider } from '../../src/fleet/pool-provider.js';
import { PoolUnavailable } from '../../src/fleet/pool-unavailable.js';
import { withFallbacks } from '../../src/fleet/fallback.js';
import { checkpointName, probe } from '../../src/fleet/probes.js';
import type { ModelEntry } from '../../src/providers/catalogue.js';
import { A1111Fake, checkpointTitle } from '../fakes/a1111-fake.js';
import { ComfyUIFake } from '../fakes/comfyui-fake.js';
import { JobFailure } from '../../src/errors.js';
import type { GenerateInput, ImageProvider, ProviderOutput } from '../../src/providers/port.js';
import { openSqlite, migrate, type Db } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { MODE, createDatabase, dropDatabase } from '../helpers/server.js';

const view = (id: string, over: Partial<BackendView> = {}): BackendView => ({ id, maxConcurrency: 1, weight: 1, healthy: true, inFlight: 0, loadedModel: null, latencyEwmaMs: null, ...over });

/** Sends `n` calls through chooseBackend without releasing any: how many each backend got. */
function fill(backends: BackendView[], n: number, model: string | null = null, routing: 'sticky' | 'least_loaded' = 'sticky'): Record<string, number> {
  const state = backends.map((b) => ({ ...b }));
  const got: Record<string, number> = Object.fromEntries(state.map((b) => [b.id, 0]));
  for (let i = 0; i < n; i++) {
    const c = chooseBackend(state, model, routing);
    if (!c) break;
    c.inFlight++;
    got[c.id]!++;
  }
  return got;
}

describe('chooseBackend (src/fleet/routing.ts)', () => {
  it('spreads calls in proportion to capacity (and weight)', () => {
    const abc = [view('a', { maxConcurrency: 1 }), view('b', { maxConcurrency: 2 }), view('c', { maxConcurrency: 3 })];
    assert.deepEqual(fill(abc, 3), { a: 0, b: 1, c: 2 });
    assert.deepEqual(fill(abc, 6), { a: 1, b: 2, c: 3 });
    assert.deepEqual(fill([view('a', { maxConcurrency: 2 }), view('b', { maxConcurrency: 4 })], 3), { a: 1, b: 2 });
    assert.deepEqual(fill([view('a', { maxConcurrency: 4 }), view('b', { maxConcurrency: 8 })], 6), { a: 2, b: 4 });
    // weight 2 counts the backend's slots twice: it takes a double share before it is full.
    assert.deepEqual(fill([view('a', { maxConcurrency: 4 }), view('b', { maxConcurrency: 4, weight: 2 })], 3), { a: 1, b: 2 });
  });

  it('never sends a backend more than its max_concurrency, and answers null when every slot is taken', () => {
    const backends = [view('a', { maxConcurrency: 1 }), view('b', { maxConcurrency: 2 }), view('c', { maxConcurrency: 3 })];
    assert.deepEqual(fill(backends, 100), { a: 1, b: 2, c: 3 });
    assert.equal(chooseBackend(backends.map((b) => ({ ...b, inFlight: b.maxConcurrency })), null), null);
  });

  it('skips unhealthy and excluded backends; ties go to the lower latency, then the id', () => {
    const backends = [view('a', { healthy: false }), view('b', { latencyEwmaMs: 900 }), view('c', { latencyEwmaMs: 100 })];
    assert.equal(chooseBackend(backends, null)!.id, 'c');
    assert.equal(chooseBackend(backends, null, 'sticky', new Set(['c']))!.id, 'b');
    assert.equal(chooseBackend(backends, null, 'sticky', new Set(['b', 'c'])), null);
    assert.equal(chooseBackend([view('y'), view('x')], null)!.id, 'x');
  });

  it('sticky: prefers a backend with the model loaded while it has a free slot, even when busier; least_loaded ignores the model', () => {
    const backends = [view('a', { maxConcurrency: 4, inFlight: 2, loadedModel: 'm1' }), view('b', { maxConcurrency: 4, loadedModel: 'm2' }), view('c', { maxConcurrency: 4 })];
    assert.equal(chooseBackend(backends, 'm1', 'sticky')!.id, 'a');
    assert.equal(chooseBackend(backends, 'm1', 'least_loaded')!.id, 'b');
    // The warm backend is full: the least loaded of the rest.
    assert.equal(chooseBackend(backends.map((b) => (b.id === 'a' ? { ...b, inFlight: 4 } : b)), 'm1', 'sticky')!.id, 'b');
    // Two warm backends: the least loaded of them.
    assert.equal(chooseBackend([...backends, view('d', { maxConcurrency: 4, inFlight: 1, loadedModel: 'm1' })], 'm1', 'sticky')!.id, 'd');
    // A model nobody holds: an idle backend takes the load first, then plain least-loaded.
    assert.deepEqual(fill(backends, 4, 'm3'), { a: 0, b: 2, c: 2 });
  });

  it('sticky: a backend running calls of another model is not warm, and a cold call goes to an idle backend before a busy one', () => {
    // a's last finished call left m1, but it runs an m2 call now: it is swapping to m2.
    const a = view('a', { maxConcurrency: 2, inFlight: 1, loadedModel: 'm1', running: ['m2'] });
    const b = view('b', { maxConcurrency: 1, loadedModel: 'm1' });
    assert.equal(chooseBackend([a, b], 'm1', 'sticky')!.id, 'b');
    assert.equal(chooseBackend([a, b], 'm2', 'sticky')!.id, 'a', 'a is warm for m2 (its call in flight)');
    // Cold: least-loaded would pick a (1 of 2 busy: (1+1)/2 = 1, tie with c, lower latency); sticky prefers the idle c.
    const c = view('c', { maxConcurrency: 1, latencyEwmaMs: 900 });
    const a2 = { ...a, latencyEwmaMs: 100 };
    assert.equal(chooseBackend([a2, c], 'm3', 'least_loaded')!.id, 'a');
    assert.equal(chooseBackend([a2, c], 'm3', 'sticky')!.id, 'c');
    // Nothing idle: the least loaded, whatever it runs.
    assert.equal(chooseBackend([a2, { ...c, inFlight: 1, maxConcurrency: 3 }], 'm3', 'sticky')!.id, 'c');
    // No model (the backend picks): plain least-loaded.
    assert.equal(chooseBackend([a2, c], null, 'sticky')!.id, 'a');
  });
});

/** The mode's real store, opened directly: a SQLite file (embedded) or a fresh PostgreSQL database (scale-out). */
async function openStore(): Promise<{ db: Db; close(): Promise<void> }> {
  if (MODE === 'scaleout') {
    const url = await createDatabase();
    const { db } = openPostgres(url, 12);
    await migrate(db);
    return {
      db,
      async close() {
        await db.destroy();
        await dropDatabase(url);
      },
    };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fleet-'));
  const db = openSqlite(path.join(dir, 'easel.sqlite'));
  await migrate(db);
  return {
    db,
    async close() {
      await db.destroy();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const spec = (id: string, maxConcurrency: number, pool = 'p'): EndpointSpec => ({ id, pool, vendor: 'ComfyUI', url: `http://${id}:8188`, maxConcurrency, weight: 1, labels: { gpu: id } });
const ok = (model: string | null = null) => ({ ok: true, latencyMs: 10, model });
const failed = { ok: false, latencyMs: 10, model: null, error: 'ECONNREFUSED' };
const NO = new Set<string>();

describe(`Fleet on the ${MODE} store (src/fleet/fleet.ts)`, () => {
  let store: { db: Db; close(): Promise<void> };
  let fleet: Fleet;
  let second: Fleet;
  const ids = ['b1', 'b2', 'b3'];

  before(async () => {
    store = await openStore();
    const dialect = MODE === 'scaleout' ? ('postgres' as const) : ('sqlite' as const);
    fleet = new Fleet(store.db, { dialect, ejectAfter: 3 });
    for (const [i, id] of ids.entries()) fleet.declare(spec(id, i + 1));
    await fleet.register();
    // A second Fleet on the same store: another process's view of the same rows.
    second = new Fleet(store.db, { dialect, ejectAfter: 3 });
  });
  after(async () => store.close());

  it('register is idempotent: configuration follows the newest declaration, health and counters stay', async () => {
    const [lease] = [await fleet.acquire(ids, null, 'sticky', NO, 60_000)];
    assert.ok(typeof lease === 'object');
    await fleet.release(lease as Lease, ok(), false);
    await fleet.register();
    const rows = await fleet.snapshot();
    assert.deepEqual(rows.map((r) => [r.id, r.maxConcurrency, r.healthy, r.inFlight]), [['b1', 1, true, 0], ['b2', 2, true, 0], ['b3', 3, true, 0]]);
    assert.equal(rows.reduce((n, r) => n + r.callsTotal, 0), 1);
    assert.deepEqual(rows[0]!.labels, { gpu: 'b1' });
  });

  it('50 racing acquires from two Fleet instances take exactly the 6 slots there are, none over any backend\'s limit', async () => {
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? fleet : second).acquire(ids, null, 'least_loaded', NO, 60_000)));
    const leases = got.filter((g): g is Lease => typeof g === 'object');
    assert.equal(leases.length, 6);
    assert.equal(got.filter((g) => g === 'full').length, 44);
    const per = Object.fromEntries(ids.map((id) => [id, leases.filter((l) => l.backendId === id).length]));
    assert.deepEqual(per, { b1: 1, b2: 2, b3: 3 });
    assert.deepEqual((await fleet.snapshot()).map((r) => r.inFlight), [1, 2, 3]);
    await Promise.all(leases.map((l, i) => (i % 2 ? fleet : second).release(l, ok(), false)));
    assert.deepEqual((await fleet.snapshot()).map((r) => r.inFlight), [0, 0, 0]);
  });

  it('20 racing callers, each acquiring and releasing 5 times: the calls in flight on a backend never exceed its capacity', async () => {
    const now = new Map(ids.map((id) => [id, 0]));
    const most = new Map(ids.map((id) => [id, 0]));
    let calls = 0;
    let total = 0;
    let mostTotal = 0;
    await Promise.all(
      Array.from({ length: 20 }, async (_, c) => {
        const f = c % 2 ? fleet : second;
        for (let k = 0; k < 5; k++) {
          let lease: Lease | 'full' | 'none_healthy';
          while ((lease = await f.acquire(ids, null, 'least_loaded', NO, 60_000)) === 'full') await new Promise((r) => setTimeout(r, 5));
          assert.notEqual(lease, 'none_healthy');
          const l = lease as Lease;
          now.set(l.backendId, now.get(l.backendId)! + 1);
          most.set(l.backendId, Math.max(most.get(l.backendId)!, now.get(l.backendId)!));
          mostTotal = Math.max(mostTotal, ++total);
          await new Promise((r) => setTimeout(r, 20));
          total--;
          now.set(l.backendId, now.get(l.backendId)! - 1);
          calls++;
          await f.release(l, ok(), false);
        }
      }),
    );
    assert.equal(calls, 100);
    for (const [i, id] of ids.entries()) assert.ok(most.get(id)! <= i + 1, `${id}: ${most.get(id)} at once, capacity ${i + 1}`);
    assert.ok(mostTotal > 1, 'the callers did hold several slots at once');
    assert.deepEqual((await fleet.snapshot()).map((r) => r.inFlight), [0, 0, 0]);
  });

  it('an expired lease (a crashed process) no longer holds its slot', async () => {
    const l = await fleet.acquire(['b1'], null, 'sticky', NO, 1);
    assert.equal(typeof l, 'object');
    await new Promise((r) => setTimeout(r, 10));
    const again = await fleet.acquire(['b1'], null, 'sticky', NO, 60_000);
    assert.equal(typeof again, 'object', 'the slot freed itself');
    await fleet.release(again as Lease, ok(), false);
    await fleet.release(l as Lease, ok(), false);
  });

  it('ejects a backend after N consecutive failed calls (a success in between resets the count); a good probe readmits it', async () => {
    const onB1 = async () => (await fleet.acquire(['b1'], null, 'sticky', NO, 60_000)) as Lease;
    await fleet.release(await onB1(), failed, false);
    await fleet.release(await onB1(), failed, false);
    await fleet.release(await onB1(), ok(), false);
    let b1 = (await fleet.snapshot()).find((r) => r.id === 'b1')!;
    assert.equal(b1.healthy, true);
    await fleet.release(await onB1(), failed, false);
    await fleet.release(await onB1(), failed, false);
    assert.equal((await fleet.snapshot()).find((r) => r.id === 'b1')!.healthy, true, 'two failures: still in');
    await fleet.release(await onB1(), failed, false);
    b1 = (await fleet.snapshot()).find((r) => r.id === 'b1')!;
    assert.equal(b1.healthy, false, 'the third failure in a row ejects it');
    assert.ok(b1.ejectedAt !== null);
    assert.equal(b1.lastError, 'ECONNREFUSED');
    assert.equal(await fleet.acquire(['b1'], null, 'sticky', NO, 60_000), 'none_healthy');
    // Routing skips it while the rest of the pool serves.
    const l = (await fleet.acquire(ids, null, 'sticky', NO, 60_000)) as Lease;
    assert.notEqual(l.backendId, 'b1');
    await fleet.release(l, ok(), false);
    // A failed probe changes nothing; a good one readmits, once.
    assert.equal(await second.probed('b1', false, { error: 'ECONNREFUSED' }), null);
    assert.equal(await second.probed('b1', true, { loadedModel: 'sdxl.safetensors' }), 'readmitted');
    assert.equal(await second.probed('b1', true, {}), null);
    b1 = (await fleet.snapshot()).find((r) => r.id === 'b1')!;
    assert.equal(b1.healthy, true);
    assert.equal(b1.loadedModel, 'sdxl.safetensors', 'an A1111 probe reports the loaded checkpoint');
  });

  it('failed probes alone eject a backend after N in a row; every backend of a pool down = none_healthy', async () => {
    for (let i = 0; i < 2; i++) assert.equal(await fleet.probed('b2', false, { error: 'down' }), null);
    assert.equal(await fleet.probed('b2', false, { error: 'down' }), 'ejected');
    assert.equal(await fleet.probed('b2', false, { error: 'down' }), null, 'ejected once');
    for (const id of ['b1', 'b3']) for (let i = 0; i < 3; i++) await fleet.probed(id, false, { error: 'down' });
    assert.equal(await fleet.acquire(ids, null, 'sticky', NO, 60_000), 'none_healthy');
    for (const id of ids) assert.equal(await fleet.probed(id, true, {}), 'readmitted');
  });

  it('tracks the model a call ran (ComfyUI) and counts a change as a load; sticky routing then prefers that backend', async () => {
    const l1 = (await fleet.acquire(['b3'], 'm1', 'sticky', NO, 60_000)) as Lease;
    await fleet.release(l1, ok('m1'), true);
    const l2 = (await fleet.acquire(['b3'], 'm2', 'sticky', NO, 60_000)) as Lease;
    await fleet.release(l2, ok('m2'), true);
    const b3 = (await fleet.snapshot()).find((r) => r.id === 'b3')!;
    assert.equal(b3.loadedModel, 'm2');
    assert.ok(b3.modelLoadsTotal >= 1);
    const l3 = (await fleet.acquire(ids, 'm2', 'sticky', NO, 60_000)) as Lease;
    assert.equal(l3.backendId, 'b3');
    await fleet.release(l3, ok('m2'), true);
  });
});

/** A member whose calls answer, fail (retryable: the backend's fault) or refuse (not retryable: the request's fault). */
class StubMember implements ImageProvider {
  readonly capabilities = { operations: ['generate' as const], multiturn: false, maxConcurrency: 1 };
  calls = 0;
  constructor(
    readonly id: string,
    private readonly behaviour: 'ok' | 'down' | 'refuse',
  ) {}
  async generate(): Promise<ProviderOutput> {
    this.calls++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.behaviour === 'down') throw new JobFailure('provider_unavailable', `${this.id} is unreachable`, true);
    if (this.behaviour === 'refuse') throw new JobFailure('invalid_request', `${this.id} refused the prompt`, false);
    return { bytes: Buffer.from(this.id), mime: 'image/png' };
  }
}

const input = (prompt: string): GenerateInput => ({ prompt, width: 64, height: 64, seed: 7, references: [], signal: new AbortController().signal }) as unknown as GenerateInput;

describe(`PoolProvider on the ${MODE} store (src/fleet/pool-provider.ts)`, () => {
  let store: { db: Db; close(): Promise<void> };
  let fleet: Fleet;
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-pool-log-'));

  before(async () => {
    store = await openStore();
    fleet = new Fleet(store.db, { dialect: MODE === 'scaleout' ? 'postgres' : 'sqlite', ejectAfter: 2 });
  });
  after(async () => store.close());

  const pool = (name: string, members: StubMember[], callLog: string | null = null) => {
    for (const m of members) fleet.declare(spec(m.id, 1, name));
    return new PoolProvider(name, members.map((m) => ({ id: m.id, url: `http://${m.id}:8188`, provider: m })), fleet, {
      pool: name,
      model: null,
      trackModel: false,
      routing: 'least_loaded',
      leaseMs: 60_000,
      overflowAfterMs: null,
      callLog,
    });
  };

  it('a call whose backend fails is sent to another backend of the pool: one result, both calls in the log', async () => {
    const down = new StubMember('f-a', 'down');
    const up = new StubMember('f-b', 'ok');
    const log = path.join(logDir, 'failover.jsonl');
    const p = pool('failover', [down, up], log);
    await fleet.register();
    // f-a sorts first: with both idle, least-loaded picks it, and it fails.
    const out = await p.generate(input('fail over'));
    assert.equal(out.bytes.toString(), 'f-b');
    assert.deepEqual([down.calls, up.calls], [1, 1]);
    const lines = fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { backend: string; outcome: string; prompt: string });
    assert.deepEqual(lines.map((l) => [l.backend, l.outcome, l.prompt]), [['http://f-a:8188', 'abandoned', 'fail over'], ['http://f-b:8188', 'completed', 'fail over']]);
    const rows = await fleet.snapshot();
    assert.equal(rows.find((r) => r.id === 'f-a')!.errorsTotal, 1);
    assert.deepEqual(rows.filter((r) => r.pool === 'failover').map((r) => r.inFlight), [0, 0]);
  });

  it('a refusal that is the request\'s fault is not retried elsewhere and does not count against the backend', async () => {
    const refuse = new StubMember('r-a', 'refuse');
    const up = new StubMember('r-b', 'ok');
    const p = pool('refusal', [refuse, up]);
    await fleet.register();
    await assert.rejects(p.generate(input('bad prompt')), /refused/);
    assert.deepEqual([refuse.calls, up.calls], [1, 0]);
    const a = (await fleet.snapshot()).find((r) => r.id === 'r-a')!;
    assert.equal(a.errorsTotal, 0);
    assert.equal(a.healthy, true);
  });

  it('every backend down: the call fails over through all of them, then the pool is unavailable — and the fallback runs it', async () => {
    const members = [new StubMember('d-a', 'down'), new StubMember('d-b', 'down')];
    const p = pool('alldown', members);
    await fleet.register();
    const unavailable = (e: unknown) => e instanceof PoolUnavailable && e.reason === 'no_healthy_backend';
    // Every backend failed this call (before any was ejected): the pool could not take it, like a pool already down.
    await assert.rejects(p.generate(input('nobody home')), unavailable);
    assert.deepEqual(members.map((m) => m.calls), [1, 1]);
    const fallback = new StubMember('fallback', 'ok');
    const model = (id: string, provider: ImageProvider, priceMicros: number, fallbacks: string[] = []) => ({ id, provider, priceMicros, fallbacks }) as unknown as ModelEntry;
    const requested = model('pooled', p, 20_000, ['fb']);
    const fb = model('fb', fallback, 5_000);
    const got = await withFallbacks({ byId: (id) => (id === 'fb' ? fb : undefined) }, requested, 20_000, (m) => m.provider.generate(input('nobody home')));
    assert.equal(got.output.bytes.toString(), 'fallback');
    assert.deepEqual(got.route, { model: 'fb', priceMicros: 5_000, reroutedFrom: 'pooled', reason: 'no_healthy_backend' });
    // ejectAfter 2: both are out now, and the next call does not reach either.
    await assert.rejects(p.generate(input('nobody home')), unavailable);
    assert.deepEqual(members.map((m) => m.calls), [2, 2]);
  });
});

describe('probes (src/fleet/probes.ts) against the fakes', () => {
  it('A1111: /sdapi/v1/options answers the loaded checkpoint by title; the probe reports its file name', async () => {
    const fake = await A1111Fake.start({ loadedModel: 'dreamshaper_8.safetensors' });
    try {
      assert.match(checkpointTitle('dreamshaper_8.safetensors'), /^dreamshaper_8\.safetensors \[[0-9a-f]{10}\]$/);
      assert.equal(checkpointName('v1-5-pruned-emaonly.safetensors [6ce0161689]'), 'v1-5-pruned-emaonly.safetensors');
      assert.equal(checkpointName('sdxl/base.safetensors'), 'sdxl/base.safetensors');
      assert.deepEqual(await probe({ kind: 'a1111', url: fake.url, authorization: null }, null), { ok: true, loadedModel: 'dreamshaper_8.safetensors' });
      fake.failAll = true;
      assert.equal((await probe({ kind: 'a1111', url: fake.url, authorization: null }, null)).ok, false);
    } finally {
      await fake.close();
    }
  });

  it('ComfyUI: /system_stats and /queue answer; a stopped server fails the probe, a restarted one passes', async () => {
    const fake = await ComfyUIFake.start();
    try {
      const spec = { kind: 'comfyui' as const, url: fake.url, authorization: null };
      assert.deepEqual(await probe(spec, null), { ok: true });
      assert.deepEqual(fake.requests.map((r) => r.route), ['system_stats', 'queue_status']);
      await fake.stop();
      assert.equal((await probe(spec, null)).ok, false);
      await fake.restart();
      assert.equal((await probe(spec, null)).ok, true);
    } finally {
      await fake.close();
    }
  });

  it('a hosted key has no probe: it is readmitted once its cooldown is over', async () => {
    assert.equal((await probe({ kind: 'cooldown', cooldownMs: 60_000 }, Date.now())).ok, false);
    assert.equal((await probe({ kind: 'cooldown', cooldownMs: 60_000 }, Date.now() - 61_000)).ok, true);
  });
});
