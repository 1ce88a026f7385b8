import type { BlobStore } from '../blob/port.js';
import { BLOB_KEY_RE } from '../blob/port.js';
import type { UrlSigner } from '../blob/url-signer.js';
import { JobFailure } from '../errors.js';
import { fetchImageGuarded, UrlRefused } from '../net/guarded-fetch.js';

export const MAX_INPUT_BYTES = 20 * 1024 * 1024;

/**
 * Turns an input URL from a client (reference image, edit source) into bytes. Our own signed
 * `/files/…` URLs are verified and read from storage directly; every other URL goes through the
 * one guarded client (https only, public addresses only, pinned DNS, size and time limits,
 * decoded as an image). A URL that cannot be used ends the job: retrying will not fix it.
 */
export class InputResolver {
  constructor(
    private readonly blob: BlobStore,
    private readonly signer: UrlSigner,
    private readonly publicBase: { url: string },
    private readonly allowLoopback: boolean,
  ) {}

  async fetch(url: string, what: string, signal?: AbortSignal): Promise<Buffer> {
    const own = this.ownKey(url);
    if (own) {
      const bytes = await this.blob.get(own);
      if (!bytes) throw new JobFailure('reference_unavailable', `${what}: the file behind this URL is no longer kept.`, false);
      return bytes;
    }
    // Presigned URLs of our own bucket (scale-out): read from storage once the store has proven them its own.
    const stored = await this.blob.keyOfSignedUrl?.(url);
    if (stored && 'refused' in stored) {
      throw new JobFailure('reference_unavailable', `${what}: this file URL ${stored.refused === 'expired' ? 'has expired' : 'is not valid'}.`, false);
    }
    if (stored) {
      const bytes = await this.blob.get(stored.key);
      if (!bytes) throw new JobFailure('reference_unavailable', `${what}: the file behind this URL is no longer kept.`, false);
      return bytes;
    }
    try {
      const r = await fetchImageGuarded(url, { maxBytes: MAX_INPUT_BYTES, timeoutMs: 15_000, maxRedirects: 3, allowLoopbackHttp: this.allowLoopback, signal });
      return r.bytes;
    } catch (e) {
      if (e instanceof UrlRefused) throw new JobFailure('reference_unavailable', `${what} could not be used: ${e.message}`, false);
      throw e;
    }
  }

  /** The blob key of one of our own signed URLs, after checking its signature and expiry. */
  private ownKey(url: string): string | null {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return null;
    }
    if (!url.startsWith(`${this.publicBase.url}/files/`)) return null;
    const key = decodeURIComponent(u.pathname.replace(/^\/files\//, ''));
    if (!BLOB_KEY_RE.test(key) || key.includes('..')) throw new JobFailure('reference_unavailable', 'This file URL is not valid.', false);
    const v = this.signer.verify(key, u.searchParams.get('exp') ?? undefined, u.searchParams.get('sig') ?? undefined);
    if (v !== 'ok') throw new JobFailure('reference_unavailable', v === 'expired' ? 'This file URL has expired.' : 'This file URL is not valid.', false);
    return key;
  }
}
