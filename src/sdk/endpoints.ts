/**
 * Every SDK method and the `/v1` operation it calls: the one place the SDK keeps paths, and the
 * table the drift test compares with the server's live OpenAPI document (a server path without a
 * row here fails it). `{id}` is a path parameter. Keys name the method as a caller writes it.
 */
export const ENDPOINTS = {
  health: { method: 'GET', path: '/health' },
  generateImage: { method: 'POST', path: '/v1/generate/image' },
  generateGraphic: { method: 'POST', path: '/v1/generate/graphic' },
  generateDiagram: { method: 'POST', path: '/v1/generate/diagram' },
  generateStory: { method: 'POST', path: '/v1/generate/story' },
  getStoryJob: { method: 'GET', path: '/v1/generate/story/{id}' },
  getJob: { method: 'GET', path: '/v1/jobs/{id}' },
  listJobs: { method: 'GET', path: '/v1/jobs' },
  cancelJob: { method: 'POST', path: '/v1/jobs/{id}/cancel' },
  /** Server-sent events of one job; `waitForJob` uses it when the server offers it. */
  jobEvents: { method: 'GET', path: '/v1/jobs/{id}/events' },
  /** The running job's current preview frame (WebP), with the key. */
  jobPreview: { method: 'GET', path: '/v1/jobs/{id}/preview' },
  /** A preview frame by its signed URL, `progress.preview_url` (no key). */
  downloadPreview: { method: 'GET', path: '/v1/previews/{job_id}/{file}' },
  retryScene: { method: 'POST', path: '/v1/jobs/{id}/scenes/{n}/retry' },
  refreshUrls: { method: 'POST', path: '/v1/jobs/{id}/urls' },
  createBatch: { method: 'POST', path: '/v1/batches' },
  getBatch: { method: 'GET', path: '/v1/batches/{id}' },
  listBatchItems: { method: 'GET', path: '/v1/batches/{id}/items' },
  batchResults: { method: 'GET', path: '/v1/batches/{id}/results.jsonl' },
  cancelBatch: { method: 'POST', path: '/v1/batches/{id}/cancel' },
  quote: { method: 'POST', path: '/v1/quote' },
  getSettings: { method: 'GET', path: '/v1/account/settings' },
  setSettings: { method: 'PUT', path: '/v1/account/settings' },
  getWebhook: { method: 'GET', path: '/v1/account/webhook' },
  setWebhook: { method: 'PUT', path: '/v1/account/webhook' },
  rotateWebhookSecret: { method: 'POST', path: '/v1/account/webhook/rotate-secret' },
  listDeliveries: { method: 'GET', path: '/v1/webhooks/deliveries' },
  redeliver: { method: 'POST', path: '/v1/webhooks/deliveries/{id}/redeliver' },
  models: { method: 'GET', path: '/v1/models' },
  pricing: { method: 'GET', path: '/v1/pricing' },
  profile: { method: 'GET', path: '/v1/account/profile' },
  ledger: { method: 'GET', path: '/v1/account/ledger' },
  listKeys: { method: 'GET', path: '/v1/keys' },
  createKey: { method: 'POST', path: '/v1/keys' },
  revokeKey: { method: 'DELETE', path: '/v1/keys/{id}' },
  upload: { method: 'POST', path: '/v1/upload' },
  'edit.image': { method: 'POST', path: '/v1/edit/image' },
  'edit.graphic': { method: 'POST', path: '/v1/edit/graphic' },
  'edit.diagram': { method: 'POST', path: '/v1/edit/diagram' },
  'combine.image': { method: 'POST', path: '/v1/combine/image' },
  'combine.graphic': { method: 'POST', path: '/v1/combine/graphic' },
  'combine.diagram': { method: 'POST', path: '/v1/combine/diagram' },
  'process.crop': { method: 'POST', path: '/v1/process/crop' },
  'process.resize': { method: 'POST', path: '/v1/process/resize' },
  'process.rotate': { method: 'POST', path: '/v1/process/rotate' },
  'process.flip': { method: 'POST', path: '/v1/process/flip' },
  'process.trim': { method: 'POST', path: '/v1/process/trim' },
  'process.adjust': { method: 'POST', path: '/v1/process/adjust' },
  'process.overlay': { method: 'POST', path: '/v1/process/overlay' },
  'process.metadataStrip': { method: 'POST', path: '/v1/process/metadata-strip' },
  'process.convert': { method: 'POST', path: '/v1/process/convert' },
  'process.optimize': { method: 'POST', path: '/v1/process/optimize' },
  'process.removeBackground': { method: 'POST', path: '/v1/process/remove-background' },
  openapi: { method: 'GET', path: '/v1/openapi.json' },
} as const satisfies Record<string, { method: 'GET' | 'POST' | 'PUT' | 'DELETE'; path: string }>;

export type EndpointName = keyof typeof ENDPOINTS;

/** Fills `{id}`-style parameters, each URL-encoded. */
export function endpointPath(name: EndpointName, params: Record<string, string> = {}): string {
  return ENDPOINTS[name].path.replace(/\{(\w+)\}/g, (_m, k: string) => {
    const v = params[k];
    if (v === undefined) throw new TypeError(`${name}: missing path parameter "${k}"`);
    return encodeURIComponent(v);
  });
}

/**
 * Whether an SDK endpoint serves an OpenAPI operation: same method, same segments, where a
 * `{param}` on either side matches any one segment (the server may route `/v1/edit/{kind}`).
 */
/**
 * Operations of the served document that speak another protocol, for that protocol's own clients
 * (OpenAI's SDKs and apps, MCP clients): the SDK leaves them out on purpose.
 */
export const OTHER_PROTOCOL_PATHS: readonly string[] = ['/v1/images/generations', '/v1/images/edits', '/mcp'];

export function coversOperation(method: string, path: string): EndpointName | undefined {
  const want = path.split('/');
  return (Object.keys(ENDPOINTS) as EndpointName[]).find((name) => {
    const e = ENDPOINTS[name];
    if (e.method !== method.toUpperCase()) return false;
    const have = e.path.split('/');
    return have.length === want.length && have.every((seg, i) => seg === want[i] || /^\{.+\}$/.test(seg) || /^\{.+\}$/.test(want[i]!));
  });
}
