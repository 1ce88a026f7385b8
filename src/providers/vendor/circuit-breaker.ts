import { JobFailure } from '../../errors.js';

/**
 * Stops hammering a vendor that is down: after `threshold` consecutive retryable failures the
 * circuit opens for `openMs`; then one trial call is let through (half-open). A success closes it.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private trialInFlight = false;

  constructor(
    readonly vendor: string,
    private readonly threshold = 5,
    private readonly openMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {}

  get state(): 'closed' | 'open' | 'half_open' {
    if (this.failures < this.threshold) return 'closed';
    return this.now() < this.openUntil ? 'open' : 'half_open';
  }

  /** Throws when the circuit is open; otherwise admits the call. */
  admit(): void {
    const st = this.state;
    if (st === 'open' || (st === 'half_open' && this.trialInFlight)) {
      const wait = Math.max(0, this.openUntil - this.now());
      throw new JobFailure('provider_unavailable', `${this.vendor} is failing; calls are paused for ${Math.ceil(wait / 1000)} s.`, true, Math.max(wait, 1000));
    }
    if (st === 'half_open') this.trialInFlight = true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
  }

  /** The admitted call ended without a verdict on the vendor (the caller gave up): free the trial slot. */
  release(): void {
    this.trialInFlight = false;
  }

  failure(): void {
    this.trialInFlight = false;
    this.failures++;
    if (this.failures >= this.threshold) this.openUntil = this.now() + this.openMs;
  }
}
