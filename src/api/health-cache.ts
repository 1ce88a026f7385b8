/**
 * The dependency checks behind `GET /health`, shared by every caller of one process: at most one
 * check runs at a time, a report younger than FRESH_MS is answered as is, and one younger than
 * STALE_MS is answered at once while a fresh check runs in the background (stale-while-revalidate).
 * So /health answers in the time of the event loop, not of the slowest dependency under load
 * (issue 20: S3 busy storing uploads made every probe wait for it), and a flood of /health calls
 * costs the database and the bucket one check a second, not one each.
 */
export const FRESH_MS = 1000;
export const STALE_MS = 5000;

export class HealthCache<T> {
  private last: { at: number; report: T } | null = null;
  private running: Promise<T> | null = null;

  constructor(private readonly check: () => Promise<T>) {}

  async current(now = Date.now()): Promise<T> {
    const age = this.last ? now - this.last.at : Infinity;
    if (this.last && age < FRESH_MS) return this.last.report;
    const fresh = this.refresh();
    if (this.last && age < STALE_MS) {
      fresh.catch(() => undefined);
      return this.last.report;
    }
    return fresh;
  }

  private refresh(): Promise<T> {
    this.running ??= this.check()
      .then((report) => {
        this.last = { at: Date.now(), report };
        return report;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }
}
