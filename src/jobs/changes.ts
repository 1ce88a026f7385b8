import { EventEmitter } from 'node:events';

/**
 * In-process wake-ups that a job changed, so a waiting request answers the moment its job settles.
 * A shortcut only: waiters also re-read the database, which is what makes jobs settled by another
 * process visible. (Not the job's event log, src/jobs/event-log.ts: that one is durable and is
 * what clients see as events.)
 */
export class JobChanges {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  changed(jobId: string): void {
    this.emitter.emit(jobId);
  }

  on(jobId: string, fn: () => void): () => void {
    this.emitter.on(jobId, fn);
    return () => this.emitter.off(jobId, fn);
  }
}
