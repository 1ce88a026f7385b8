import type { Logger } from 'pino';
import type { Fleet } from './fleet.js';

/** How a backend is asked whether it is up: by its own API, or (hosted vendors) by waiting out a cooldown. */
export type ProbeSpec =
  | { kind: 'comfyui'; url: string; authorization: string | null }
  | { kind: 'a1111'; url: string; authorization: string | null }
  | { kind: 'cooldown'; cooldownMs: number };

export interface ProbeResult {
  ok: boolean;
  loadedModel?: string | null;
  error?: string;
}

const TIMEOUT_MS = 3000;

async function getJson(url: string, authorization: string | null): Promise<unknown> {
  const res = await fetch(url, { headers: authorization ? { authorization } : {}, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new Error(`${new URL(url).pathname} answered ${res.status}`);
  return res.json();
}

/**
 * ComfyUI: `GET /system_stats` (the server and its devices) and `GET /queue` (it answers its API).
 * AUTOMATIC1111/Forge: `GET /sdapi/v1/options`, which also reports the loaded checkpoint
 * (`sd_model_checkpoint`) — what stickiness routes by. A hosted API key has no probe of its own: once
 * ejected it is readmitted after a cooldown, and its next call decides (half-open, like a circuit breaker).
 */
export async function probe(spec: ProbeSpec, ejectedAt: number | null): Promise<ProbeResult> {
  try {
    if (spec.kind === 'cooldown') return { ok: ejectedAt === null || Date.now() - ejectedAt >= spec.cooldownMs, error: 'cooling down after failures' };
    if (spec.kind === 'comfyui') {
      const stats = await getJson(`${spec.url}/system_stats`, spec.authorization);
      if (!stats || typeof stats !== 'object') throw new Error('/system_stats is not JSON');
      await getJson(`${spec.url}/queue`, spec.authorization);
      return { ok: true };
    }
    const options = (await getJson(`${spec.url}/sdapi/v1/options`, spec.authorization)) as Record<string, unknown>;
    const loaded = typeof options?.sd_model_checkpoint === 'string' ? checkpointName(options.sd_model_checkpoint) : null;
    return { ok: true, loadedModel: loaded };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The webui reports its checkpoint by title, "<file name> [<short hash>]" (e.g.
 * "v1-5-pruned-emaonly.safetensors [6ce0161689]"), while a model's vendor_model — what calls send in
 * override_settings and what routing compares — is the file name: the hash is dropped.
 */
export function checkpointName(title: string): string {
  return title.replace(/\s+\[[0-9a-f]{8,}\]$/i, '');
}

/**
 * Active health checks, in each worker process: every `intervalMs` each backend is probed and the
 * verdict written to the shared fleet (an ejected backend comes back after one good probe; a healthy
 * one is ejected after the fleet's `ejectAfter` failures in a row, counted together with failed calls).
 */
export class FleetProbes {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly fleet: Fleet,
    private readonly specs: Map<string, ProbeSpec>,
    private readonly intervalMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.specs.size === 0 || this.timer) return;
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
    void this.round();
  }

  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const state = new Map((await this.fleet.snapshot()).map((b) => [b.id, b]));
      await Promise.all(
        [...this.specs].map(async ([id, spec]) => {
          const b = state.get(id);
          // A healthy hosted key needs no probe: its calls say how it is.
          if (spec.kind === 'cooldown' && (!b || b.healthy)) return;
          const r = await probe(spec, b?.ejectedAt ?? null);
          const change = await this.fleet.probed(id, r.ok, { loadedModel: r.loadedModel, error: r.error });
          if (change) this.log.warn({ backend: b?.url ?? id, change, error: r.ok ? undefined : r.error }, change === 'readmitted' ? 'backend readmitted' : 'backend ejected');
        }),
      );
    } catch (e) {
      this.log.warn({ err: e }, 'backend probes failed');
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
