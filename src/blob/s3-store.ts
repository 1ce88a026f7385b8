import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, PutObjectCommand, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { BlobStore, SignedUrlCheck } from './port.js';
import { assertBlobKey } from './port.js';
import { S3OwnUrls } from './s3-own-url.js';
import { S3QueryPresigner } from './s3-presign.js';
import { S3BulkDelete } from './s3-bulk-delete.js';

export interface S3Options {
  endpoint: string | null;
  bucket: string;
  region: string;
  accessKeyId: string | null;
  secretAccessKey: string | null;
  forcePathStyle: boolean;
  publicEndpoint: string | null;
}

function client(o: S3Options, endpoint: string | null): S3Client {
  return new S3Client({
    region: o.region,
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: o.forcePathStyle,
    ...(o.accessKeyId && o.secretAccessKey ? { credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey } } : {}),
    // Payload checksums (a newer SDK default) are not understood by every S3-compatible server.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Bounded, so a store that is down or stalled fails the call (503 to clients, a retry for
    // workers) instead of hanging it: 3 s to connect, 15 s without a byte; the SDK's default 3 attempts.
    requestHandler: { connectionTimeout: 3000, requestTimeout: 15_000, throwOnRequestTimeout: true },
  });
}

/**
 * Blobs in an S3-compatible bucket. Signed URLs are presigned GETs made by the SDK, verified by
 * the S3 server itself (so tampering or expiry is refused there, not by Easel).
 */
export class S3BlobStore implements BlobStore {
  private readonly s3: S3Client;
  private readonly presigner: S3Client;
  private readonly ownUrls: S3OwnUrls;
  /** The same URLs as `presigner`, without the SDK's per-call cost, when the options fully determine them. */
  private readonly fastPresigner: S3QueryPresigner | null;
  private readonly bulk: S3BulkDelete;

  constructor(private readonly o: S3Options) {
    this.s3 = client(o, o.endpoint);
    this.presigner = o.publicEndpoint ? client(o, o.publicEndpoint) : this.s3;
    this.ownUrls = new S3OwnUrls(this.presigner, o.bucket);
    this.fastPresigner = S3QueryPresigner.forOptions(o);
    this.bulk = new S3BulkDelete(this.s3, o.bucket);
  }

  /** Creates the bucket if it does not exist (idempotent; safe from several processes). */
  async ensureBucket(): Promise<void> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.o.bucket }));
    } catch {
      try {
        await this.s3.send(new CreateBucketCommand({ Bucket: this.o.bucket }));
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw e;
      }
    }
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    assertBlobKey(key);
    await this.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: key, Body: bytes, ContentType: contentType }));
  }

  /** Streamed from the file; ContentLength lets the SDK send it as one PUT without buffering it. */
  async putFile(key: string, file: string, size: number, contentType: string): Promise<void> {
    assertBlobKey(key);
    const body = createReadStream(file);
    try {
      await this.s3.send(new PutObjectCommand({ Bucket: this.o.bucket, Key: key, Body: body, ContentLength: size, ContentType: contentType }));
    } finally {
      body.destroy();
    }
  }

  async get(key: string): Promise<Buffer | null> {
    assertBlobKey(key);
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    assertBlobKey(key);
    try {
      await this.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    assertBlobKey(key);
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: key }));
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.deletePrefixes([prefix]);
  }

  /** Multi-object deletes (one-key deletes on a server without them): src/blob/s3-bulk-delete.ts. */
  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const k of keys) assertBlobKey(k);
    await this.bulk.deleteKeys(keys);
  }

  /** The keys under the folders found by as few listings as their spread allows, then deleteMany. */
  async deletePrefixes(prefixes: readonly string[]): Promise<void> {
    for (const p of prefixes) assertBlobKey(p);
    await this.bulk.deleteKeys(await this.bulk.keysUnder(prefixes.map((p) => `${p}/`)));
  }

  async signedUrl(key: string, expiresAt: number): Promise<string> {
    assertBlobKey(key);
    // Signed at the whole second (as SigV4 dates are), so the lifetime is counted from that same
    // second: two reads in one second mint the same URL, and its expiry matches the expires_at shown.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const expiresIn = Math.max(1, Math.round((expiresAt - now) / 1000));
    if (this.fastPresigner) return this.fastPresigner.url(key, expiresIn, now);
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.o.bucket, Key: key }), { expiresIn });
  }

  keyOfSignedUrl(url: string): Promise<SignedUrlCheck> {
    return this.ownUrls.check(url);
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await this.s3.send(new HeadBucketCommand({ Bucket: this.o.bucket }));
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: (e as Error).name || 'unreachable' };
    }
  }
}

function isNotFound(e: unknown): boolean {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return x.name === 'NoSuchKey' || x.name === 'NotFound' || x.$metadata?.httpStatusCode === 404;
}
