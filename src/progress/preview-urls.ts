import type { UrlSigner } from '../blob/url-signer.js';
import { isoSeconds } from '../util/time.js';
import { previewFolder } from './stored.js';

/** A frame changes every second or so: its URL needs to live only as long as a glance. */
export const PREVIEW_URL_TTL_S = 300;

/** A frame's file name: what the route accepts as the last path segment. */
export const PREVIEW_FILE_RE = /^r\d{1,6}-\d{1,9}\.webp$/;

/** The blob key behind /v1/previews/{job_id}/{file}. */
export function previewKey(jobId: string, file: string): string {
  return `${previewFolder(jobId)}/${file}`;
}

/**
 * Preview URLs point at Easel's own route, not at the blob store (as results do): the route
 * checks that the frame is still the running job's current one, so a preview URL stops working
 * the moment the job ends, whichever store holds the bytes and whenever they are deleted.
 */
export function previewUrls(signer: UrlSigner, publicBase: () => string) {
  return (key: string, now: number): { url: string; expires_at: string } => {
    const m = /^jobs\/([^/]+)\/preview\/([^/]+)$/.exec(key);
    if (!m) throw new Error(`not a preview key: ${key}`);
    const exp = now + PREVIEW_URL_TTL_S * 1000;
    return {
      url: `${publicBase()}/v1/previews/${m[1]}/${m[2]}?exp=${Math.floor(exp / 1000)}&sig=${signer.sign(key, exp)}`,
      expires_at: isoSeconds(exp),
    };
  };
}
