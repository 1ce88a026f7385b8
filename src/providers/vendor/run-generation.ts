import { JobFailure } from '../../errors.js';
import type { VendorConfig } from './config.js';
import { Deadline } from './deadline.js';
import { notConfigured } from './failure.js';
import type { Limiter } from './limiter.js';
import { redactSecret } from './redact.js';

/**
 * Runs one generation against a vendor: refuses at once when the key is missing, waits for a
 * concurrency slot (time in that queue does not count against the vendor), then gives `fn` a
 * fresh deadline of cfg.timeoutMs tied to the caller's signal. Any error leaving here has had
 * the key scrubbed from it.
 */
export async function runGeneration<T>(
  cfg: VendorConfig,
  limiter: Limiter,
  signal: AbortSignal,
  fn: (deadline: Deadline, apiKey: string) => Promise<T>,
): Promise<T> {
  const key = cfg.apiKey;
  if (!key) throw notConfigured(cfg.vendor, cfg.apiKeyVar);
  if (signal.aborted) throw new JobFailure('timeout', `The ${cfg.vendor} request was aborted.`, true);
  return limiter.run(async () => {
    const deadline = new Deadline(cfg.vendor, cfg.timeoutMs, signal);
    try {
      return await fn(deadline, key);
    } catch (e) {
      throw redactSecret(e, key);
    } finally {
      deadline.dispose();
    }
  });
}
