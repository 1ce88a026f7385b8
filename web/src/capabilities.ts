/**
 * What this server offers, read from its own OpenAPI document (public): buttons for routes the
 * server does not have (cancel, scene retry, live events) are not shown.
 */
let routes: Promise<Set<string>> | null = null;

function load(): Promise<Set<string>> {
  return fetch('/v1/openapi.json', { headers: { accept: 'application/json' } })
    .then((r) => (r.ok ? r.json() : { paths: {} }))
    .then((doc: { paths?: Record<string, Record<string, unknown>> }) => {
      const set = new Set<string>();
      for (const [path, item] of Object.entries(doc.paths ?? {})) for (const method of Object.keys(item)) set.add(`${method.toUpperCase()} ${path}`);
      return set;
    })
    .catch(() => new Set<string>());
}

/** "METHOD /path/{param}" as the document spells it, e.g. "POST /v1/jobs/{id}/cancel". */
export async function hasRoute(route: string): Promise<boolean> {
  routes ??= load();
  return (await routes).has(route);
}

export const ROUTES = {
  cancel: 'POST /v1/jobs/{id}/cancel',
  sceneRetry: 'POST /v1/jobs/{id}/scenes/{n}/retry',
  events: 'GET /v1/jobs/{id}/events',
  keys: 'GET /v1/keys',
} as const;
