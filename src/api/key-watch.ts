import type { KeyLookup } from '../accounts/key-lookup.js';

/** How often open streams' keys are re-read: a revoked key's stream ends within about this long. */
export const KEY_WATCH_MS = 2_000;

/**
 * Ends long-lived answers (event streams) whose API key stopped authenticating — revoked, or its
 * account suspended — by whichever process. One query per interval for every watched key of this
 * process together, however many streams are open, and nothing while none is.
 */
export class KeyWatch {
  private readonly watchers = new Map<string, Set<() => void>>();
  private timer: NodeJS.Timeout | null = null;
  private checking = false;

  constructor(
    private readonly keys: KeyLookup,
    private readonly intervalMs = KEY_WATCH_MS,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  /** Calls `onInvalid` once when the key stops authenticating; the returned function stops watching. */
  watch(keyId: string, onInvalid: () => void): () => void {
    let set = this.watchers.get(keyId);
    if (!set) this.watchers.set(keyId, (set = new Set()));
    set.add(onInvalid);
    this.timer ??= setInterval(() => void this.check(), this.intervalMs).unref();
    return () => {
      set.delete(onInvalid);
      if (set.size === 0 && this.watchers.get(keyId) === set) this.watchers.delete(keyId);
      if (this.watchers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
  }

  /** Whether the key still authenticates now (a direct read, for the moment before something is sent). */
  async usable(keyId: string): Promise<boolean> {
    return (await this.keys.usable([keyId])).has(keyId);
  }

  private async check(): Promise<void> {
    if (this.checking || this.watchers.size === 0) return;
    this.checking = true;
    try {
      const ids = [...this.watchers.keys()];
      const live = await this.keys.usable(ids);
      for (const id of ids) {
        if (live.has(id)) continue;
        const set = this.watchers.get(id);
        this.watchers.delete(id);
        for (const cb of set ?? []) cb();
      }
      if (this.watchers.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    } catch (e) {
      // A store hiccup: the next interval tries again (and every event is checked before it is sent).
      this.onError(e);
    } finally {
      this.checking = false;
    }
  }
}
