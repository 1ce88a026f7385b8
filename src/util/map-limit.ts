/**
 * The one mapLimit lives in the SDK (src/sdk/map-limit.ts): the published SDK may import only
 * src/sdk and src/contract, while the server may use the SDK's plain helpers. Re-exported here so
 * server code (story pipelines, tests) keeps its import path.
 */
export { mapLimit } from '../sdk/map-limit.js';
