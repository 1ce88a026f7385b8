import { EventEmitter } from 'node:events';

/**
 * In-process notifications that a job changed, so a waiting request answers the moment its job
 * settles. They are a shortcut only: waiters also re-read the database, which is what makes
 * jobs settled by another process visible.
 */
export class JobEvents {
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
