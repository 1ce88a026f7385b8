import crypto from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.js';
import type { BlobStore } from '../blob/port.js';
import { FsBlobStore } from '../blob/fs-store.js';
import { UrlSigner } from '../blob/url-signer.js';

/**
 * The configured blob store, for reading only (`easel verify`): the same choice as the server's
 * (src/app.ts), S3 when configured, else `<data dir>/blobs`. Nothing is signed with it, so the
 * signer's key is a throwaway and the bucket is never created.
 */
export async function openBlobForReading(config: Config): Promise<BlobStore> {
  if (config.s3.endpoint || config.s3.accessKeyId) {
    const { S3BlobStore } = await import('../blob/s3-store.js');
    return new S3BlobStore(config.s3);
  }
  return new FsBlobStore(path.join(config.dataDir, 'blobs'), new UrlSigner(crypto.randomBytes(32)), () => '');
}
