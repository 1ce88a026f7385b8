import crypto from 'node:crypto';
import { BoundedMemo } from '../util/bounded-memo.js';

/**
 * Presigned S3 GET URLs without the AWS SDK's per-call middleware stack: the SDK spends about
 * 0.5–1 ms of CPU per URL resolving endpoints, building a command and walking middleware, and a
 * job read mints three of them. This is the same AWS Signature V4 query signing, producing the
 * same URL byte for byte (test/unit/s3-presign.test.ts compares it with the SDK's getSignedUrl).
 *
 * Only the configuration whose URL shape is fully determined by the options is handled: an
 * explicit endpoint without a base path, path-style addressing, static credentials without a
 * session token. Anything else (AWS's own endpoint rules, virtual-hosted buckets, credential
 * chains) keeps using the SDK — `forOptions` returns null for it.
 */
export class S3QueryPresigner {
  private signingKey: { day: string; key: Buffer } | null = null;
  private readonly urls = new BoundedMemo<string, string>();
  private readonly origin: string;
  private readonly host: string;
  private readonly pathPrefix: string;
  private readonly credentialPrefix: string;

  private constructor(
    endpoint: URL,
    bucket: string,
    private readonly region: string,
    accessKeyId: string,
    private readonly secretAccessKey: string,
  ) {
    this.origin = `${endpoint.protocol}//${endpoint.host}`;
    this.host = endpoint.host;
    this.pathPrefix = `/${escapeSegment(bucket)}/`;
    this.credentialPrefix = `${accessKeyId}/`;
  }

  static forOptions(o: {
    endpoint: string | null;
    publicEndpoint: string | null;
    bucket: string;
    region: string;
    accessKeyId: string | null;
    secretAccessKey: string | null;
    forcePathStyle: boolean;
  }): S3QueryPresigner | null {
    const endpoint = o.publicEndpoint ?? o.endpoint;
    if (!endpoint || !o.forcePathStyle || !o.accessKeyId || !o.secretAccessKey) return null;
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      return null;
    }
    if ((u.protocol !== 'http:' && u.protocol !== 'https:') || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash || u.username || u.password) return null;
    return new S3QueryPresigner(u, o.bucket, o.region, o.accessKeyId, o.secretAccessKey);
  }

  /** A presigned GET of `key`, signed at `nowMs` (truncated to the second), valid for `expiresInS` seconds. */
  url(key: string, expiresInS: number, nowMs = Date.now()): string {
    // The same key, lifetime and second give the same URL: a polled job's URLs are signed once a second.
    return this.urls.get(`${Math.floor(nowMs / 1000)}\n${expiresInS}\n${key}`, () => this.sign(key, expiresInS, nowMs));
  }

  private sign(key: string, expiresInS: number, nowMs: number): string {
    const amzDate = new Date(nowMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/${this.region}/s3/aws4_request`;
    const path = this.pathPrefix + key.split('/').map(escapeSegment).join('/');
    // Sorted by name, as SigV4's canonical query string and the SDK's URL both are.
    const query =
      'X-Amz-Algorithm=AWS4-HMAC-SHA256' +
      '&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD' +
      `&X-Amz-Credential=${escapeUri(this.credentialPrefix + scope)}` +
      `&X-Amz-Date=${amzDate}` +
      `&X-Amz-Expires=${expiresInS}` +
      '&X-Amz-SignedHeaders=host' +
      '&x-id=GetObject';
    const canonicalRequest = `GET\n${path}\n${query}\nhost:${this.host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${crypto.createHash('sha256').update(canonicalRequest).digest('hex')}`;
    const signature = crypto.createHmac('sha256', this.keyFor(day)).update(stringToSign).digest('hex');
    const signed = query.replace('&X-Amz-SignedHeaders=', `&X-Amz-Signature=${signature}&X-Amz-SignedHeaders=`);
    return `${this.origin}${path}?${signed}`;
  }

  /** The day's signing key (HMAC chain over date, region, service), derived once per UTC day. */
  private keyFor(day: string): Buffer {
    if (this.signingKey?.day !== day) {
      const hmac = (k: Buffer | string, v: string) => crypto.createHmac('sha256', k).update(v).digest();
      const key = hmac(hmac(hmac(hmac(`AWS4${this.secretAccessKey}`, day), this.region), 's3'), 'aws4_request');
      this.signingKey = { day, key };
    }
    return this.signingKey.key;
  }
}

/** RFC 3986 encoding, as SigV4 (and the SDK's escapeUri) wants it. */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** One path segment of an S3 key, as the SDK's serializer encodes it. */
function escapeSegment(s: string): string {
  return escapeUri(s);
}
