/**
 * Work that must be done before a job settles but need not hold up the next provider call
 * (encoding, signing and recording a finished image). A task is deferred until `release`, which
 * the pipeline calls right after it has issued its next provider call: encoding and C2PA signing
 * are CPU work on this process's event loop, and started earlier they would delay the very call
 * the story waits for (measured: five portraits finishing at once held up the last portrait's
 * result by ~130 ms). `settle` releases whatever is still deferred. A failure is kept and rethrown
 * by `check` and `settle`, and no task starts after it. Every task is observed from the moment it
 * starts, so a failure while nobody awaits it is never an unhandled rejection.
 */
export class TrailingWork {
  private readonly running = new Set<Promise<void>>();
  private readonly deferred: (() => Promise<void>)[] = [];
  private failure: { error: unknown } | null = null;

  defer(task: () => Promise<void>): void {
    if (!this.failure) this.deferred.push(task);
  }

  /** Starts every deferred task. */
  release(): void {
    for (const task of this.deferred.splice(0)) this.start(task);
  }

  private start(task: () => Promise<void>): void {
    if (this.failure) return;
    const p: Promise<void> = task()
      .catch((e: unknown) => {
        this.failure ??= { error: e };
      })
      .finally(() => this.running.delete(p));
    this.running.add(p);
  }

  /** Throws the first failure so far, so a broken run stops before its next call. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  /** Starts what is deferred, waits for everything, then throws the first failure if there was one. */
  async settle(): Promise<void> {
    this.release();
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.check();
  }
}
