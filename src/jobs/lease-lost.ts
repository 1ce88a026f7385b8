/**
 * Thrown when a worker's transition was refused because its claim no longer owns the job (it
 * paused past its lease and another worker took the job, or the job was settled meanwhile).
 * Nothing was written; the run stops, and the worker settles nothing for it.
 */
export class LeaseLost extends Error {
  constructor(
    readonly transition: string,
    readonly jobId: string,
  ) {
    super(`job ${jobId}: the ${transition} of a worker that no longer holds the job was refused`);
    this.name = 'LeaseLost';
  }
}
