import type { BlobStore } from '../blob/port.js';
import type { StoredImage } from './types.js';
import { isoSeconds } from '../util/time.js';

export interface FormatView {
  url: string;
  format: string;
  size_bytes: number;
  hash: string;
  expires_at: string;
}

/**
 * What a result presenter needs to turn stored keys into URLs. The per-operation presenters
 * (present-result, story/present, present-process) depend on this, not on the Presenter,
 * so the Presenter can import them without a cycle.
 */
export interface ResultUrls {
  /** Signs every stored format of an image; `png`, `jpeg`, `webp` in that order. */
  formats(image: StoredImage, now?: number): Promise<Record<string, FormatView>>;
  signedUrl(key: string, now?: number): Promise<{ url: string; expires_at: string }>;
}

/** URLs signed by the blob store, valid `ttlS` seconds: minted on every read, so always fresh. */
export class SignedResultUrls implements ResultUrls {
  constructor(
    private readonly blob: BlobStore,
    private readonly ttlS: number,
  ) {}

  async formats(image: StoredImage, now = Date.now()): Promise<Record<string, FormatView>> {
    const exp = now + this.ttlS * 1000;
    const entries = await Promise.all(
      Object.entries(image.formats).map(async ([fmt, f]) => {
        const view: FormatView = { url: await this.blob.signedUrl(f.key, exp), format: fmt, size_bytes: f.size_bytes, hash: f.hash, expires_at: isoSeconds(exp) };
        return [fmt, view] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async signedUrl(key: string, now = Date.now()): Promise<{ url: string; expires_at: string }> {
    const exp = now + this.ttlS * 1000;
    return { url: await this.blob.signedUrl(key, exp), expires_at: isoSeconds(exp) };
  }
}
