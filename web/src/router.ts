import { useEffect, useState } from 'preact/hooks';

/**
 * Hash routes (#/jobs/ID): the server serves one index.html and needs no fallback route, and a
 * reload keeps the page. Segments are decoded here and only ever rendered as text.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'jobs' }
  | { page: 'job'; id: string }
  | { page: 'batches' }
  | { page: 'batch'; id: string }
  | { page: 'gallery'; id?: string }
  | { page: 'keys' }
  | { page: 'playground' }
  | { page: 'notfound' };

export function parseHash(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => decodeURIComponent(p));
  const [a, b] = parts;
  if (!a) return { page: 'overview' };
  if (a === 'jobs' && !b) return { page: 'jobs' };
  if (a === 'jobs' && b) return { page: 'job', id: b };
  if (a === 'batches') return b ? { page: 'batch', id: b } : { page: 'batches' };
  if (a === 'gallery') return b ? { page: 'gallery', id: b } : { page: 'gallery' };
  if (a === 'keys') return { page: 'keys' };
  if (a === 'playground') return { page: 'playground' };
  return { page: 'notfound' };
}

export const href = {
  overview: '#/',
  jobs: '#/jobs',
  job: (id: string) => `#/jobs/${encodeURIComponent(id)}`,
  batches: '#/batches',
  batch: (id: string) => `#/batches/${encodeURIComponent(id)}`,
  gallery: (id?: string) => (id ? `#/gallery/${encodeURIComponent(id)}` : '#/gallery'),
  keys: '#/keys',
  playground: '#/playground',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}
