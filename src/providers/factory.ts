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

export interface ProviderSpec {
  /** Model id in our catalogue. */
  id: string;
  provider: string;
  vendorModel: string;
  multiturn: boolean;
}

/** One breaker and one concurrency limit per vendor account, shared by every model served by it. */
interface Shared {
  breaker: CircuitBreaker;
  limiter: Limiter;
}

type Make = (spec: ProviderSpec, shared: (cfg: VendorConfig) => Shared) => ImageProvider;

/**
 * Builds the provider behind a catalogue entry. Adding a vendor = one line here plus its adapter.
 * Vendor settings (key, base URL, timeouts, concurrency) come from `EASEL_<VENDOR>_*` env vars.
 */
export class ProviderFactory {
  private readonly shared = new Map<string, Shared>();
  private readonly sketchFailures: { remaining: number };
  private readonly makers: Record<string, Make>;

  constructor(private readonly config: Config) {
    this.sketchFailures = { remaining: config.sketchFailures };
    this.makers = {
      sketch: (s) =>
        new SketchProvider(s.id, {
          latencyMs: this.config.sketchLatencyMs,
          multiturn: s.multiturn,
          callLog: this.config.providerCallLog,
          failures: this.sketchFailures,
        }),
      openai: (s, sh) => {
        const cfg = openaiConfig();
        return new OpenAIProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      gemini: (s, sh) => {
        const cfg = geminiConfig();
        return new GeminiProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      fal: (s, sh) => {
        const cfg = falConfig();
        return new FalProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      replicate: (s, sh) => {
        const cfg = replicateConfig();
        return new ReplicateProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      bfl: (s, sh) => {
        const cfg = bflConfig();
        return new BflProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      comfyui: (s, sh) => {
        const cfg = comfyuiConfig();
        return new ComfyUIProvider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
      a1111: (s, sh) => {
        const cfg = a1111Config();
        return new A1111Provider(s.id, s.vendorModel, cfg, { ...sh(cfg), retryBaseMs: config.retryBaseMs });
      },
    };
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
