import type { Services } from '../app.js';
import { badRequest } from '../errors.js';

/**
 * Input URLs must be https; plain http only where it is ours (our `/files/` URLs, presigned URLs
 * of our bucket when its endpoint is http) or in loopback test mode. Checked when the request
 * arrives so a hopeless URL never becomes a job; the fetcher enforces the rest (addresses, size).
 */
export function checkInputUrls(s: Services, body: Record<string, unknown>, fields: readonly string[]): void {
  const bad = fields.filter((f) => typeof body[f] === 'string' && !acceptable(s, body[f] as string));
  if (bad.length === 0) return;
  throw badRequest(`${bad[0]} must be an https URL (or a signed URL of ours).`, {
    fields: bad.map((path) => ({ path, message: 'must be an https URL (or a signed URL of ours)' })),
  });
}

function acceptable(s: Services, url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol === 'https:') return true;
  if (u.protocol !== 'http:') return false;
  if (s.config.allowLoopbackUrls || url.startsWith(`${s.publicBase.url}/files/`)) return true;
  const bucket = s.config.s3.publicEndpoint ?? s.config.s3.endpoint;
  return bucket !== null && u.origin === new URL(bucket).origin;
}
