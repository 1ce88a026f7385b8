import fs from 'node:fs';
import type { CombineInput, EditInput, GenerateInput, ImageProvider, ProviderCapabilities, ProviderOutput } from '../providers/port.js';
import { JobFailure } from '../errors.js';
import type { Fleet, Lease } from './fleet.js';
import type { Routing } from './routing.js';
import { PoolUnavailable } from './pool-unavailable.js';

/** One backend of a pool: its endpoint row and the adapter instance that talks to it. */
export interface PoolMember {
  id: string;
  url: string;
  provider: ImageProvider;
}

export interface PoolOptions {
  /** Shown in errors and logs: the pool's name (vendor, or the model's own endpoint list). */
  pool: string;
  /** What the calls load on the backend (a checkpoint), for stickiness; null when the backend picks. */
  model: string | null;
  /** Backends that do not report their loaded model (ComfyUI): what a call ran is what it has loaded now. */
  trackModel: boolean;
  routing: Routing;
  /** A slot's lease, past which a crashed process's slot frees itself: the adapter's own deadline plus slack. */
  leaseMs: number;
  /** With fallbacks configured: give up waiting for a slot when the expected wait is longer (ms); null = wait. */
  overflowAfterMs: number | null;
  /** EASEL_PROVIDER_CALL_LOG: one JSON line per backend call, abandoned ones included. */
  callLog: string | null;
}

/** How often a waiting call looks again when the slot it waits for may free in another process. */
const WAIT_POLL_MS = 100;

/**
 * A model served by several backends (ComfyUI or AUTOMATIC1111 instances, or several API keys of a
 * hosted vendor) behind the one provider port. Each call takes a slot on the backend the fleet
 * chooses (src/fleet/routing.ts), so no backend ever has more than its max_concurrency calls from
 * all processes together; waits for a slot when all are busy; and **fails over**: a call whose
 * backend fails (unreachable, 5xx, timeout) is sent to another healthy backend of the pool within the
 * same provider call — the job sees one result, the ledger one charge, the call log both calls.
 * A refusal that is the request's own fault (a 400/422) is not retried elsewhere.
 */
export class PoolProvider implements ImageProvider {
  readonly capabilities: ProviderCapabilities;
  /** Every member runs the same adapter: a job's `params` name it, whichever server ran the call. */
  readonly adapterVersion?: string;
  readonly edit?: (input: EditInput) => Promise<ProviderOutput>;
  readonly combine?: (input: CombineInput) => Promise<ProviderOutput>;
  private readonly byId: Map<string, PoolMember>;
  private waiters = 0;

  constructor(
    readonly id: string,
    private readonly members: PoolMember[],
    private readonly fleet: Fleet,
    private readonly opts: PoolOptions,
  ) {
    if (members.length === 0) throw new Error(`pool ${opts.pool} has no backends`);
    this.byId = new Map(members.map((m) => [m.id, m]));
    const first = members[0]!.provider.capabilities;
    this.capabilities = { ...first, maxConcurrency: members.reduce((n, m) => n + m.provider.capabilities.maxConcurrency, 0) };
    this.adapterVersion = members[0]!.provider.adapterVersion;
    if (first.operations.includes('edit')) this.edit = (input) => this.route(input, (p) => p.edit!(input));
    if (first.operations.includes('combine')) this.combine = (input) => this.route(input, (p) => p.combine!(input));
  }

  get ids(): string[] {
    return this.members.map((m) => m.id);
  }

  generate(input: GenerateInput): Promise<ProviderOutput> {
    return this.route(input, (p) => p.generate(input));
  }

  private async route(input: GenerateInput, call: (p: ImageProvider) => Promise<ProviderOutput>): Promise<ProviderOutput> {
    const tried = new Set<string>();
    for (;;) {
      const lease = await this.slot(input.signal, tried);
      const member = this.byId.get(lease.backendId)!;
      const began = Date.now();
      try {
        const out = await call(member.provider);
        await this.fleet.release(lease, { ok: true, latencyMs: Date.now() - began, model: this.opts.model }, this.opts.trackModel);
        this.log(member, input, 'completed');
        return out;
      } catch (e) {
        const backendFault = isBackendFault(e) && !input.signal.aborted;
        await this.fleet.release(lease, { ok: !backendFault, latencyMs: Date.now() - began, model: this.opts.model, error: e instanceof Error ? e.message : String(e) }, false);
        tried.add(member.id);
        const more = backendFault && this.members.some((m) => !tried.has(m.id));
        this.log(member, input, more ? 'abandoned' : 'failed');
        // Every backend of the pool failed this call: the pool could not take it, exactly as when none
        // was healthy to begin with — so a model with fallbacks reroutes now (src/fleet/fallback.ts)
        // instead of failing the attempt because the probes had not ejected them yet.
        if (backendFault && !more) throw Object.assign(new PoolUnavailable(this.opts.pool, 'no_healthy_backend'), { cause: e });
        if (!more) throw e;
      }
    }
  }

  /** Waits for a slot on a healthy backend not yet tried; throws PoolUnavailable when none is healthy, or on overflow. */
  private async slot(signal: AbortSignal, tried: ReadonlySet<string>): Promise<Lease> {
    this.waiters++;
    try {
      for (;;) {
        if (signal.aborted) throw new JobFailure('timeout', `${this.opts.pool}: the call was aborted while waiting for a backend.`, true);
        const got = await this.fleet.acquire(this.ids, this.opts.model, this.opts.routing, tried, this.opts.leaseMs);
        if (got === 'none_healthy') throw new PoolUnavailable(this.opts.pool, 'no_healthy_backend');
        if (got !== 'full') return got;
        if (this.opts.overflowAfterMs !== null) {
          const wait = await this.expectedWaitMs();
          if (wait > this.opts.overflowAfterMs) throw new PoolUnavailable(this.opts.pool, 'overflow', wait);
        }
        await this.fleet.waitForSlot(WAIT_POLL_MS, signal, this.ids);
      }
    } finally {
      this.waiters--;
    }
  }

  /** Rounds of work ahead of a new call (this process's waiters over the pool's capacity) × the typical call time. */
  private async expectedWaitMs(): Promise<number> {
    const rows = (await this.fleet.snapshot()).filter((b) => this.byId.has(b.id) && b.healthy);
    const capacity = rows.reduce((n, b) => n + b.maxConcurrency, 0);
    if (capacity === 0) return Number.POSITIVE_INFINITY;
    const known = rows.map((b) => b.latencyEwmaMs).filter((x): x is number => x !== null);
    const typical = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 0;
    return Math.ceil(this.waiters / capacity) * typical;
  }

  private log(member: PoolMember, input: GenerateInput, outcome: 'completed' | 'abandoned' | 'failed'): void {
    if (!this.opts.callLog) return;
    fs.appendFileSync(this.opts.callLog, `${JSON.stringify({ provider: this.id, pool: this.opts.pool, backend: member.url, outcome, prompt: input.prompt, seed: input.seed, pid: process.pid })}\n`);
  }
}

/** The backend's fault, worth another backend: retryable failures (unreachable, 5xx, 429, timeout). */
function isBackendFault(e: unknown): boolean {
  return e instanceof JobFailure ? e.retryable : true;
}
