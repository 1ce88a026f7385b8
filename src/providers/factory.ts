import type { Config } from '../config.js';
import type { ImageProvider } from './port.js';
import { SketchProvider } from './sketch-provider.js';
import { OpenAIProvider, openaiConfig } from './openai/openai-provider.js';
import { GeminiProvider, geminiConfig } from './gemini/gemini-provider.js';
import { FalProvider, falConfig } from './fal/fal-provider.js';
import { ReplicateProvider, replicateConfig } from './replicate/replicate-provider.js';
import { BflProvider, bflConfig } from './bfl/bfl-provider.js';
import { ComfyUIProvider, comfyuiConfig } from './comfyui/comfyui-provider.js';
import { A1111Provider, a1111Config } from './a1111/a1111-provider.js';
import { CircuitBreaker } from './vendor/circuit-breaker.js';
import { Limiter } from './vendor/limiter.js';
import type { VendorConfig } from './vendor/config.js';
import type { Fleet } from '../fleet/fleet.js';
import type { ProbeSpec } from '../fleet/probes.js';
import { PoolProvider, type PoolMember } from '../fleet/pool-provider.js';
import { backendId, backendLabel, endpointsOf, type EndpointConfig } from '../fleet/endpoints.js';

export interface ProviderSpec {
  /** Model id in our catalogue. */
  id: string;
  provider: string;
  vendorModel: string;
  multiturn: boolean;
  /** The catalogue model's own backends (issue 19); absent = the vendor's env settings (a comma-separated list makes a pool). */
  endpoints?: EndpointConfig[];
  /** With fallbacks: give up waiting for a busy pool when the expected wait is longer than this. */
  overflowAfterS?: number | null;
}

/** One breaker and one concurrency limit per vendor account, shared by every model served by it. */
interface Shared {
  breaker: CircuitBreaker;
  limiter: Limiter;
}

type Make = (spec: ProviderSpec, shared: (cfg: VendorConfig) => Shared) => ImageProvider;

/** Per vendor: how its adapter is built for one endpoint, whether it is hosted (a pool = several keys), and how it is probed. */
interface PoolableVendor {
  config: () => VendorConfig;
  build: (spec: ProviderSpec, cfg: VendorConfig, shared: Shared) => ImageProvider;
  hosted: boolean;
  probe: (cfg: VendorConfig) => ProbeSpec;
  /**
   * A successful call leaves its model loaded: the fleet records it at once (ComfyUI, which does not
   * report its checkpoint; AUTOMATIC1111, whose calls keep theirs loaded — override_settings_restore_afterwards
   * false — and whose probe reports it only every EASEL_BACKEND_PROBE_MS).
   */
  trackModel: boolean;
}

/**
 * Builds the provider behind a catalogue entry. Adding a vendor = one line here plus its adapter.
 * Vendor settings (key, base URL, timeouts, concurrency) come from `EASEL_<VENDOR>_*` env vars.
 */
export class ProviderFactory {
  private readonly shared = new Map<string, Shared>();
  private readonly sketchFailures: { remaining: number };
  private readonly makers: Record<string, Make>;

  constructor(
    private readonly config: Config,
    /** The shared backend state (src/fleet/): pools need it; without one, a configured pool is an error. */
    private readonly fleet: Fleet | null = null,
  ) {
    this.sketchFailures = { remaining: config.sketchFailures };
    const rb = { retryBaseMs: config.retryBaseMs };
    const bearer = (cfg: VendorConfig) => (cfg.apiKey ? `Bearer ${cfg.apiKey}` : null);
    const basic = (cfg: VendorConfig) => (cfg.apiKey ? `Basic ${Buffer.from(cfg.apiKey, 'utf8').toString('base64')}` : null);
    const cooldown = () => ({ kind: 'cooldown' as const, cooldownMs: config.backendCooldownMs });
    const vendors: Record<string, PoolableVendor> = {
      openai: { config: openaiConfig, hosted: true, trackModel: false, probe: cooldown, build: (s, cfg, sh) => new OpenAIProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }) },
      gemini: { config: geminiConfig, hosted: true, trackModel: false, probe: cooldown, build: (s, cfg, sh) => new GeminiProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }) },
      fal: { config: falConfig, hosted: true, trackModel: false, probe: cooldown, build: (s, cfg, sh) => new FalProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }) },
      replicate: { config: replicateConfig, hosted: true, trackModel: false, probe: cooldown, build: (s, cfg, sh) => new ReplicateProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }) },
      bfl: { config: bflConfig, hosted: true, trackModel: false, probe: cooldown, build: (s, cfg, sh) => new BflProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }) },
      comfyui: {
        config: comfyuiConfig,
        hosted: false,
        trackModel: true,
        probe: (cfg) => ({ kind: 'comfyui', url: cfg.baseUrl, authorization: bearer(cfg) }),
        build: (s, cfg, sh) => new ComfyUIProvider(s.id, s.vendorModel, cfg, { ...sh, ...rb }),
      },
      a1111: {
        config: a1111Config,
        hosted: false,
        trackModel: true,
        probe: (cfg) => ({ kind: 'a1111', url: cfg.baseUrl, authorization: basic(cfg) }),
        build: (s, cfg, sh) => new A1111Provider(s.id, s.vendorModel, cfg, { ...sh, ...rb }),
      },
    };
    this.makers = {
      sketch: (s) =>
        new SketchProvider(s.id, {
          latencyMs: this.config.sketchLatencyMs,
          multiturn: s.multiturn,
          callLog: this.config.providerCallLog,
          failures: this.sketchFailures,
        }),
    };
    for (const [name, v] of Object.entries(vendors)) this.makers[name] = (s, sh) => this.pooledOrSingle(s, v, sh);
  }

  /** What the fleet's probes check: every backend of every pool built so far. */
  readonly probeSpecs = new Map<string, ProbeSpec>();

  /**
   * One endpoint: the adapter as before (one breaker and limiter per vendor account). Several — a
   * model's `endpoints`, a comma-separated base URL list (self-hosted) or API key list (hosted) — a
   * PoolProvider over one adapter per endpoint, each with its own breaker and limit.
   */
  private pooledOrSingle(spec: ProviderSpec, v: PoolableVendor, sh: (cfg: VendorConfig) => Shared): ImageProvider {
    const cfg = v.config();
    const endpoints = spec.endpoints ?? endpointsOf(cfg, v.hosted);
    if (endpoints.length === 0) return v.build(spec, cfg, sh(cfg));
    if (!this.fleet) throw new Error(`model "${spec.id}": a pool of ${endpoints.length} ${cfg.vendor} backends needs the store (no fleet was given to the provider factory)`);
    const pool = spec.endpoints ? `model:${spec.id}` : cfg.vendor;
    const members: PoolMember[] = endpoints.map((ep) => {
      const apiKey = ep.apiKey ?? cfg.apiKey;
      const url = ep.url.replace(/\/+$/, '');
      const maxConcurrency = ep.maxConcurrency ?? cfg.maxConcurrency;
      const memberCfg: VendorConfig = { ...cfg, baseUrl: url, apiKey, maxConcurrency };
      const id = backendId(cfg.vendor, url, v.hosted ? apiKey : null);
      this.fleet!.declare({ id, pool, vendor: cfg.vendor, url: backendLabel(url, apiKey, v.hosted), maxConcurrency, weight: ep.weight ?? 1, labels: ep.labels ?? {} });
      this.probeSpecs.set(id, v.probe(memberCfg));
      // No circuit breaker of its own (it never opens): the fleet's ejection and probe readmission are
      // the member's breaker. One of its own would stay open for 30 s after a probe had readmitted the
      // backend, failing every call routed there (test/e2e/fleet.test.ts: a killed backend, restarted).
      const breaker = new CircuitBreaker(`${cfg.vendor} ${url}`, Number.POSITIVE_INFINITY);
      return { id, url: backendLabel(url, apiKey, v.hosted), provider: v.build(spec, memberCfg, { breaker, limiter: new Limiter(maxConcurrency) }) };
    });
    return new PoolProvider(spec.id, members, this.fleet, {
      pool,
      model: spec.vendorModel || null,
      trackModel: v.trackModel,
      // A hosted key loads nothing: its pool is spread by load alone.
      routing: v.hosted ? 'least_loaded' : this.config.backendRouting,
      leaseMs: cfg.timeoutMs + 30_000,
      overflowAfterMs: spec.overflowAfterS == null ? null : spec.overflowAfterS * 1000,
      callLog: this.config.providerCallLog,
    });
  }

  get providers(): string[] {
    return Object.keys(this.makers);
  }

  register(name: string, make: Make): void {
    this.makers[name] = make;
  }

  make(spec: ProviderSpec): ImageProvider {
    const maker = this.makers[spec.provider];
    if (!maker) throw new Error(`model "${spec.id}": unknown provider "${spec.provider}" (known: ${this.providers.join(', ')})`);
    return maker(spec, (cfg) => {
      let s = this.shared.get(cfg.vendor);
      if (!s) {
        s = { breaker: new CircuitBreaker(cfg.vendor), limiter: new Limiter(cfg.maxConcurrency) };
        this.shared.set(cfg.vendor, s);
      }
      return s;
    });
  }
}
