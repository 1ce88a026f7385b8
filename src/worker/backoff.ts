/**
 * Moved to src/util/backoff.ts: the vendor adapters use it too, and providers must not depend on
 * the worker. Re-exported for src/worker/pool.ts, which another branch is restructuring; remove
 * this file once pool.ts imports ../util/backoff.js.
 */
export { backoffMs } from '../util/backoff.js';
