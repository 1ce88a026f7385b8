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
    const expiresAt = isoSeconds(exp);
    // One after another: signing is a few microseconds of CPU (no I/O), and a status poll pays for
    // every promise; Promise.all over async closures cost more than the signatures themselves.
    const out: Record<string, FormatView> = {};
    for (const fmt in image.formats) {
      const f = image.formats[fmt as keyof typeof image.formats];
      out[fmt] = { url: await this.blob.signedUrl(f.key, exp), format: fmt, size_bytes: f.size_bytes, hash: f.hash, expires_at: expiresAt };
    }
    return out;
  }

  async signedUrl(key: string, now = Date.now()): Promise<{ url: string; expires_at: string }> {
    const exp = now + this.ttlS * 1000;
    return { url: await this.blob.signedUrl(key, exp), expires_at: isoSeconds(exp) };
  }
}
