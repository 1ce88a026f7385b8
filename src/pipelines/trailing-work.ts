/**
 * Work that must be done before a job settles but need not hold up the next provider call
 * (encoding and recording a finished image). Tasks start at once; a failure is kept and
 * rethrown by `check` and `settle`, and no task starts after it. Every task is observed from
 * the moment it starts, so a failure while nobody awaits it is never an unhandled rejection.
 */
export class TrailingWork {
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  start(task: () => Promise<void>): void {
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

  /** Waits for everything started, then throws the first failure if there was one. */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
    this.check();
  }
}
