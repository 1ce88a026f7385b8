import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EaselProcess, MODE, api, waitFor } from '../helpers/server.js';
import { auditLedger } from '../helpers/ledger.js';
import { ComfyUIFake } from '../fakes/comfyui-fake.js';
import { A1111Fake } from '../fakes/a1111-fake.js';

/**
 * Fleets (issue 19) through the real processes: one API process (--no-worker) and worker processes
 * (two in scale-out, one in embedded mode) on one store, in front of 3 ComfyUI and 3 AUTOMATIC1111
 * fakes of different latencies and capacities, declared as catalogue `endpoints`. The fakes count
 * what the backends saw (generations, most requests at once, model loads); the call log, `easel
 * backends --json`, /metrics, /health, the job view and the ledger show what Easel did.
 */

const SDXL = 'sd_xl_base_1.0.safetensors';
const SD15 = 'v1-5-pruned-emaonly.safetensors';
const DREAM = 'dreamshaper_8.safetensors';
const REAL = 'realisticVisionV51.safetensors';
const WORKERS = MODE === 'scaleout' ? 2 : 1;

// ComfyUI: capacity 1, 2, 3; A1111: 2, 1, 1 — each with its own latency.
const COMFY = [
  { cap: 1, latencyMs: 500 },
  { cap: 2, latencyMs: 400 },
  { cap: 3, latencyMs: 300 },
];
const A1111 = [
  { cap: 2, latencyMs: 300 },
  { cap: 1, latencyMs: 400 },
  { cap: 1, latencyMs: 500 },
];

interface BackendRow {
  pool: string;
  backend: string;
  healthy: boolean;
  in_flight: number;
  capacity: number;
  calls: number;
  errors: number;
  loaded_model: string | null;
  last_error: string | null;
}

interface LogLine {
  provider: string;
  pool?: string;
  backend?: string;
  outcome?: string;
  prompt: string;
}

describe(`fleets: pools of ComfyUI and A1111 backends (${MODE}, ${WORKERS} worker process${WORKERS > 1 ? 'es' : ''})`, () => {
  const comfy: ComfyUIFake[] = [];
  const a1111: A1111Fake[] = [];
  let busy: A1111Fake;
  let apiProc: EaselProcess;
  let workers: EaselProcess[] = [];
  let key: string;
  let callLog: string;
  let env: Record<string, string>;

  const startWorkers = async (routing: 'sticky' | 'least_loaded', over: Record<string, string> = {}) => {
    for (let i = 0; i < WORKERS; i++) workers.push(await EaselProcess.start({ env: { ...env, EASEL_BACKEND_ROUTING: routing, ...over }, command: 'worker', sharedWith: apiProc }));
  };
  const stopWorkers = async () => {
    for (const w of workers) await w.stop();
    workers = [];
  };
  const backends = async (): Promise<BackendRow[]> => {
    const r = await apiProc.cli(['backends', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as BackendRow[];
  };
  const row = async (url: string) => (await backends()).find((b) => b.backend === url)!;
  const generate = async (model: string, prompt: string, extra: Record<string, unknown> = {}) => {
    const res = await api(apiProc.baseUrl, 'POST', '/v1/generate/image', { key, body: { model, prompt, aspect_ratio: '1:1', ...extra } });
    assert.equal(res.status, 200, `${model} "${prompt}": ${res.text}`);
    return res.body as { id: string; model: string; cost_eur: string };
  };
  const job = async (id: string) => (await api(apiProc.baseUrl, 'GET', `/v1/jobs/${id}`, { key })).body;
  const logLines = (): LogLine[] => (fs.existsSync(callLog) ? fs.readFileSync(callLog, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as LogLine) : []);

  before(async () => {
    for (const c of COMFY) comfy.push(await ComfyUIFake.start({ latencyMs: c.latencyMs, pollsBeforeDone: 0, checkpoints: [SDXL, SD15] }));
    for (const a of A1111) a1111.push(await A1111Fake.start({ latencyMs: a.latencyMs }));
    busy = await A1111Fake.start({ latencyMs: 1500 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'easel-fleet-'));
    callLog = path.join(dir, 'calls.jsonl');
    const file = path.join(dir, 'models.yaml');
    const comfyEndpoints = comfy.map((f, i) => `{ url: "${f.url}", max_concurrency: ${COMFY[i]!.cap}, labels: { gpu: "comfy-${i}" } }`).join(', ');
    const a1111Endpoints = a1111.map((f, i) => `{ url: "${f.url}", max_concurrency: ${A1111[i]!.cap} }`).join(', ');
    fs.writeFileSync(
      file,
      `defaults: { image: comfy-sdxl }
models:
  - { id: comfy-sdxl, name: SDXL, description: pool, provider: comfyui, vendor_model: ${SDXL}, operations: [generate], price_eur: "0.020000", endpoints: [${comfyEndpoints}], fallbacks: [sketch-dear, sketch-cheap] }
  - { id: comfy-sd15, name: SD 1.5, description: pool, provider: comfyui, vendor_model: ${SD15}, operations: [generate], price_eur: "0.020000", endpoints: [${comfyEndpoints}] }
  - { id: a1111-dream, name: Dreamshaper, description: pool, provider: a1111, vendor_model: ${DREAM}, operations: [generate], price_eur: "0.012000", endpoints: [${a1111Endpoints}] }
  - { id: a1111-real, name: Realistic Vision, description: pool, provider: a1111, vendor_model: ${REAL}, operations: [generate], price_eur: "0.012000", endpoints: [${a1111Endpoints}] }
  - { id: a1111-busy, name: One busy GPU, description: overflow, provider: a1111, vendor_model: ${DREAM}, operations: [generate], price_eur: "0.015000", endpoints: [{ url: "${busy.url}", max_concurrency: 1 }], fallbacks: [sketch-cheap], overflow_after_s: 0.2 }
  - { id: sketch-cheap, name: Cheap fallback, description: offline, provider: sketch, operations: [generate], price_eur: "0.005000" }
  - { id: sketch-dear, name: Dear fallback, description: offline, provider: sketch, operations: [generate], price_eur: "0.060000" }
`,
    );
    env = {
      EASEL_MODELS_FILE: file,
      EASEL_PROVIDER_CALL_LOG: callLog,
      EASEL_BACKEND_PROBE_MS: '200',
      EASEL_BACKEND_EJECT_AFTER: '3',
      EASEL_COMFYUI_POLL_INTERVAL_MS: '20',
      EASEL_COMFYUI_TIMEOUT_MS: '20000',
      EASEL_A1111_TIMEOUT_MS: '20000',
      EASEL_RETRY_BASE_MS: '20',
      EASEL_MAX_ATTEMPTS: '2',
      EASEL_MAX_CONCURRENT_JOBS: '1000',
      EASEL_WORKER_CONCURRENCY: '8',
      EASEL_SKETCH_LATENCY_MS: '0',
    };
    apiProc = await EaselProcess.start({ env, args: ['--no-worker'] });
    await startWorkers('sticky');
    key = await apiProc.createKey('fleet', '100');
  });

  after(async () => {
    await stopWorkers();
    await apiProc?.stop();
    for (const f of [...comfy, ...a1111, busy]) await f?.close();
  });

  it('spreads work in proportion to capacity and never sends a backend more than its max_concurrency', async () => {
    // As many calls as the pool has slots (1 + 2 + 3), each longer than it takes to start them all: one per slot.
    for (const f of comfy) f.latencyMs = 2500;
    const first = await Promise.all(Array.from({ length: 6 }, (_, i) => generate('comfy-sdxl', `spread ${i}`)));
    assert.deepEqual(comfy.map((f) => f.generations), [1, 2, 3], 'each backend took exactly its capacity');
    assert.deepEqual(comfy.map((f) => f.maxInFlight), [1, 2, 3]);
    for (const [i, f] of comfy.entries()) f.latencyMs = COMFY[i]!.latencyMs;
    // Then more than the slots: the rest wait for a slot; none is ever over its limit, across the worker processes.
    const more = await Promise.all(Array.from({ length: 18 }, (_, i) => generate(i % 2 ? 'comfy-sdxl' : 'comfy-sd15', `load ${i}`)));
    assert.equal(new Set([...first, ...more].map((j) => j.id)).size, 24);
    assert.equal(comfy.reduce((n, f) => n + f.generations, 0), 24, 'one generation per job');
    for (const [i, f] of comfy.entries()) assert.ok(f.maxInFlight <= COMFY[i]!.cap, `comfy ${i}: ${f.maxInFlight} at once, max_concurrency ${COMFY[i]!.cap}`);
    // The biggest backend did the most work.
    assert.ok(comfy[2]!.generations > comfy[0]!.generations, comfy.map((f) => f.generations).join(','));
    const rows = await backends();
    const mine = rows.filter((r) => comfy.some((f) => f.url === r.backend));
    assert.deepEqual(mine.map((r) => r.capacity).sort(), [1, 2, 3]);
    assert.ok(mine.every((r) => r.healthy && r.in_flight === 0 && r.errors === 0));
    assert.equal(mine.reduce((n, r) => n + r.calls, 0), 24);
    const metrics = await api(apiProc.baseUrl, 'GET', '/metrics');
    assert.match(metrics.text, /easel_backend_capacity\{pool="model:[a-z0-9-]+",backend="http:\/\/127\.0\.0\.1:\d+"\} 3/);
  });

  it('a backend killed mid-run: every job completes on another, none generated twice, each charged once', async () => {
    for (const f of a1111) f.resetCounters();
    const before = await auditLedger(apiProc, 'fleet');
    const victim = a1111[0]!;
    const pending = Promise.all(Array.from({ length: 10 }, (_, i) => generate('a1111-dream', `survive ${i}`)));
    await waitFor(async () => victim.inFlight > 0, 30_000, 10);
    await victim.stop();
    const done = await pending;
    const prompts = done.map((_, i) => `survive ${i}`);
    const lines = logLines().filter((l) => prompts.some((p) => l.prompt.includes(p)));
    const abandoned = lines.filter((l) => l.outcome === 'abandoned');
    assert.ok(abandoned.length >= 1, 'the killed call is in the log');
    assert.ok(abandoned.every((l) => l.backend === victim.url));
    for (const p of prompts) assert.equal(lines.filter((l) => l.outcome === 'completed' && l.prompt.includes(p)).length, 1, `"${p}" completed once`);
    for (const l of abandoned) assert.ok(lines.some((c) => c.outcome === 'completed' && c.prompt === l.prompt && c.backend !== victim.url), 'the abandoned call completed elsewhere');
    // What the backends delivered: one image per job (the killed one delivered none of its calls in flight).
    assert.equal(a1111.reduce((n, f) => n + f.generations, 0), 10);
    for (const [i, f] of a1111.entries()) assert.ok(f.maxInFlight <= A1111[i]!.cap);
    const audit = await auditLedger(apiProc, 'fleet');
    assert.equal(audit.captures - before.captures, 10 * 12_000, 'each job charged once, at its price');
    assert.equal(audit.held, 0);
    assert.deepEqual(audit.chargeMismatches, []);
    assert.deepEqual(audit.unbalancedTerminalJobs, []);
    for (const j of done) assert.equal((await job(j.id)).status, 'completed');
    // The dead backend is ejected; back on the same port, a probe readmits it.
    await waitFor(async () => !(await row(victim.url)).healthy, 30_000, 100);
    await victim.restart();
    await waitFor(async () => (await row(victim.url)).healthy, 30_000, 100);
  });

  it('a backend answering 500s is ejected (easel backends, /metrics) and readmitted once it recovers, then serves again', async () => {
    const sick = a1111[1]!;
    sick.failAll = true;
    const done = await Promise.all(Array.from({ length: 6 }, (_, i) => generate('a1111-dream', `sick ${i}`)));
    assert.equal(done.length, 6);
    const ejected = await waitFor(async () => {
      const r = await row(sick.url);
      return r.healthy ? null : r;
    }, 30_000, 100);
    assert.match(ejected.last_error ?? '', /500|answered/);
    await waitFor(async () => {
      const m = await api(apiProc.baseUrl, 'GET', '/metrics');
      return new RegExp(`easel_backend_healthy\\{pool="[^"]+",backend="${sick.url.replace(/[.:/]/g, (c) => `\\${c}`)}"\\} 0`).test(m.text);
    }, 30_000, 200);
    sick.failAll = false;
    await waitFor(async () => (await row(sick.url)).healthy, 30_000, 100);
    sick.resetCounters();
    // Enough calls at once to fill every slot: the readmitted backend takes its share.
    await Promise.all(Array.from({ length: 8 }, (_, i) => generate('a1111-real', `recovered ${i}`)));
    assert.ok(sick.generations > 0, 'the readmitted backend served again');
    assert.ok((await row(sick.url)).healthy);
  });

  it('with two checkpoints in use, sticky routing loads models at most half as often as least_loaded (same test)', async (t) => {
    // Bursts of calls for two checkpoints per vendor, in whatever order the clients' requests land, that use most
    // of each pool without filling it (ComfyUI 2 + 2 on 6 slots, A1111 1 + 1 on 4): the load of a busy day, not
    // a saturated pool — where every slot must be used and some calls have to go to a cold backend anyway.
    const run = async (tag: string) => {
      for (const f of [...comfy, ...a1111]) f.resetCounters();
      for (let burst = 0; burst < 5; burst++) {
        const models = ['comfy-sdxl', 'comfy-sd15', 'comfy-sdxl', 'comfy-sd15', 'a1111-dream', 'a1111-real'];
        await Promise.all(models.map((m, i) => generate(m, `${tag} ${burst} ${i}`)));
      }
      return {
        comfy: comfy.reduce((n, f) => n + f.modelLoads, 0),
        a1111: a1111.reduce((n, f) => n + f.modelLoads, 0),
      };
    };
    // At the default probe interval (5 s): what a backend has loaded is known from the calls, not only from probes.
    const slowProbes = { EASEL_BACKEND_PROBE_MS: '5000' };
    await stopWorkers();
    await startWorkers('sticky', slowProbes);
    const sticky = await run('sticky');
    await stopWorkers();
    await startWorkers('least_loaded', slowProbes);
    const least = await run('least');
    await stopWorkers();
    await startWorkers('sticky');
    const summary = `sticky ${JSON.stringify(sticky)}, least_loaded ${JSON.stringify(least)}`;
    t.diagnostic(`model loads: ${summary}`);
    assert.ok(sticky.comfy * 2 <= least.comfy, `ComfyUI model loads: ${summary}`);
    assert.ok(sticky.a1111 * 2 <= least.a1111, `A1111 model loads: ${summary}`);
    // The backends still report what they hold.
    const rows = await backends();
    assert.ok(rows.filter((r) => a1111.some((f) => f.url === r.backend)).every((r) => r.loaded_model === DREAM || r.loaded_model === REAL || r.loaded_model === SD15));
  });

  it('busy past overflow_after_s: the job overflows to the fallback, charged the fallback\'s price', async () => {
    // One call first, so the pool knows how long its calls take.
    await generate('a1111-busy', 'warm up');
    const jobs = await Promise.all(Array.from({ length: 3 }, (_, i) => generate('a1111-busy', `overflow ${i}`)));
    const views = await Promise.all(jobs.map((j) => job(j.id)));
    const rerouted = views.filter((v) => v.rerouted);
    assert.ok(rerouted.length >= 1, JSON.stringify(views.map((v) => [v.model, v.rerouted])));
    assert.ok(busy.maxInFlight <= 1);
    for (const v of rerouted) {
      assert.equal(v.model, 'sketch-cheap');
      assert.deepEqual(v.rerouted, { from_model: 'a1111-busy', reason: 'overflow' });
      assert.equal(v.cost.charged_eur, '0.005000');
      assert.equal(v.cost.refunded_eur, '0.010000', 'the hold was the requested price; the rest is released');
    }
    for (const v of views.filter((x) => !x.rerouted)) {
      assert.equal(v.model, 'a1111-busy');
      assert.equal(v.cost.charged_eur, '0.015000');
    }
    assert.equal(busy.generations, 1 + views.filter((v) => !v.rerouted).length);
  });

  it('a pool that is down: /health degraded, jobs reroute to the fallbacks the hold covers, charged the price of the model that ran', async () => {
    for (const f of comfy) await f.stop();
    const health = await waitFor(async () => {
      const h = await api(apiProc.baseUrl, 'GET', '/health');
      return h.body.status === 'degraded' ? h : null;
    }, 30_000, 100);
    assert.equal(health.status, 200, 'a pool down degrades the service, not the API');
    const down = health.body.backends.pools.filter((p: { ok: boolean }) => !p.ok);
    assert.equal(down.length, 1);
    assert.deepEqual({ ...down[0], pool: undefined }, { pool: undefined, healthy: 0, total: 3, ok: false });

    // The hold is comfy-sdxl's price (0.02): the dearer fallback (0.06) is not covered, the cheap one runs.
    const a = await job((await generate('comfy-sdxl', 'down, no allowance')).id);
    // max_cost_eur 0.10 covers the dearer fallback, tried first.
    const b = await job((await generate('comfy-sdxl', 'down, allowance', { max_cost_eur: '0.100000' })).id);
    // max_cost_eur 0.03: the hold is 0.03, still short of 0.06.
    const c = await job((await generate('comfy-sdxl', 'down, short allowance', { max_cost_eur: '0.030000' })).id);
    // charged + refunded = what was held: the requested price, or up to max_cost_eur when that covers a dearer fallback.
    const shape = (v: any) => ({ model: v.model, rerouted: v.rerouted, charged: v.cost.charged_eur, refunded: v.cost.refunded_eur });
    const from = { from_model: 'comfy-sdxl', reason: 'no_healthy_backend' };
    assert.deepEqual(shape(a), { model: 'sketch-cheap', rerouted: from, charged: '0.005000', refunded: '0.015000' });
    assert.deepEqual(shape(b), { model: 'sketch-dear', rerouted: from, charged: '0.060000', refunded: '0.000000' });
    assert.deepEqual(shape(c), { model: 'sketch-cheap', rerouted: from, charged: '0.005000', refunded: '0.025000' });
    assert.equal(a.result.model ?? a.model, 'sketch-cheap');
    const audit = await auditLedger(apiProc, 'fleet');
    assert.deepEqual(audit.chargeMismatches, []);
    assert.equal(audit.held, 0);

    // Back up: probes readmit the backends, /health is ok again, and the model runs on its own pool.
    for (const f of comfy) await f.restart();
    await waitFor(async () => (await api(apiProc.baseUrl, 'GET', '/health')).body.status === 'ok', 30_000, 100);
    const d = await job((await generate('comfy-sdxl', 'back up')).id);
    assert.equal(d.model, 'comfy-sdxl');
    assert.equal(d.rerouted, undefined);
    assert.equal(d.cost.charged_eur, '0.020000');
  });
});
