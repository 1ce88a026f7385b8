import crypto from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { BLOB_KEY_RE, type SignedUrlCheck } from './port.js';

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * Recognises presigned GET URLs of our own bucket, so an upload or result URL can be used as an
 * input without a trip through the public-internet fetcher (which rightly refuses a bucket on a
 * private address). "Ours" is proven, not assumed: the URL must have our bucket's origin and path
 * prefix, be unexpired, and carry exactly the signature we compute for that key, date and lifetime
 * with our own credentials (SigV4 is deterministic). A tampered key or lifetime is refused. A URL
 * signed with other credentials is not ours (null): it goes through the guarded fetcher, where
 * the S3 server judges it like any client's request.
 */
export class S3OwnUrls {
  private prefix: Promise<{ origin: string; path: string }> | null = null;

  constructor(
    private readonly presigner: S3Client,
    private readonly bucket: string,
  ) {}

  async check(url: string, now = Date.now()): Promise<SignedUrlCheck> {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return null;
    }
    const prefix = await this.ownPrefix();
    if (u.origin !== prefix.origin || !u.pathname.startsWith(prefix.path)) return null;
    const q = u.searchParams;
    const sig = q.get('X-Amz-Signature');
    const date = AMZ_DATE.exec(q.get('X-Amz-Date') ?? '');
    const expires = q.get('X-Amz-Expires') ?? '';
    if (!sig || !date || !/^\d{1,6}$/.test(expires)) return null;
    let key: string;
    try {
      key = decodeURIComponent(u.pathname.slice(prefix.path.length));
    } catch {
      return { refused: 'invalid' };
    }
    if (!BLOB_KEY_RE.test(key) || key.includes('..')) return { refused: 'invalid' };
    const signedAt = new Date(Date.UTC(+date[1]!, +date[2]! - 1, +date[3]!, +date[4]!, +date[5]!, +date[6]!));
    const expected = new URL(
      await getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: Number(expires), signingDate: signedAt }),
    ).searchParams.get('X-Amz-Signature');
    if (!expected || !safeEqual(expected, sig)) {
      // Our access key but not our signature: a URL of ours that was altered.
      const ourKeyId = (await this.presigner.config.credentials()).accessKeyId;
      return (q.get('X-Amz-Credential') ?? '').startsWith(`${ourKeyId}/`) ? { refused: 'invalid' } : null;
    }
    // Checked only once the signature proves the date and lifetime are the ones we issued.
    if (signedAt.getTime() + Number(expires) * 1000 < now) return { refused: 'expired' };
    return { key };
  }

  /** Origin and path before the key, learnt from a URL the presigner makes (path-style or virtual-host alike). */
  private ownPrefix(): Promise<{ origin: string; path: string }> {
    this.prefix ??= getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.bucket, Key: 'k' }), { expiresIn: 60 }).then((s) => {
      const u = new URL(s);
      return { origin: u.origin, path: u.pathname.slice(0, -1) };
    }).catch((e: unknown) => {
      this.prefix = null; // a credentials hiccup must not stick
      throw e;
    });
    return this.prefix;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
