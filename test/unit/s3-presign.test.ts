import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3QueryPresigner } from '../../src/blob/s3-presign.js';
import { BLOB_KEY_RE } from '../../src/blob/port.js';

// The client exactly as src/blob/s3-store.ts builds it.
const sdkClient = (endpoint: string, region: string, accessKeyId: string, secretAccessKey: string) =>
  new S3Client({
    region,
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });

const options = (endpoint: string, over: Partial<Parameters<typeof S3QueryPresigner.forOptions>[0]> = {}) => ({
  endpoint,
  publicEndpoint: null,
  bucket: 'easel',
  region: 'us-east-1',
  accessKeyId: 'test:tester',
  secretAccessKey: 'testing',
  forcePathStyle: true,
  ...over,
});

const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/).filter((s) => !s.includes('..'));
const blobKey = fc
  .tuple(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,12}$/), fc.array(segment, { minLength: 0, maxLength: 4 }))
  .map(([head, rest]) => [head, ...rest].join('/'))
  .filter((k) => BLOB_KEY_RE.test(k));

describe('S3QueryPresigner', () => {
  it('produces the same URL as the SDK presigner, byte for byte', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('http://127.0.0.1:18380', 'https://s3.example.com', 'https://s3.example.com:8443', 'http://minio.local', 'http://[::1]:9000'),
        fc.stringMatching(/^[a-z0-9][a-z0-9.-]{2,40}[a-z0-9]$/).filter((b) => !b.includes('..')),
        fc.constantFrom('us-east-1', 'eu-central-1', 'auto'),
        fc.stringMatching(/^[A-Za-z0-9:+/=_-]{3,40}$/),
        fc.stringMatching(/^[A-Za-z0-9+/=]{8,40}$/),
        blobKey,
        // 2000-01-01 .. 2100-01-01, whole milliseconds
        fc.integer({ min: 946_684_800_000, max: 4_102_444_800_000 }),
        fc.integer({ min: 1, max: 604_800 }),
        async (endpoint, bucket, region, accessKeyId, secretAccessKey, key, now, expiresIn) => {
          const fast = S3QueryPresigner.forOptions(options(endpoint, { bucket, region, accessKeyId, secretAccessKey }))!;
          const sdk = await getSignedUrl(sdkClient(endpoint, region, accessKeyId, secretAccessKey), new GetObjectCommand({ Bucket: bucket, Key: key }), {
            expiresIn,
            signingDate: new Date(now),
          });
          assert.equal(fast.url(key, expiresIn, now), sdk);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('signs against the public endpoint when there is one', async () => {
    const fast = S3QueryPresigner.forOptions(options('http://10.0.0.5:9000', { publicEndpoint: 'https://files.example.com' }))!;
    const sdk = await getSignedUrl(sdkClient('https://files.example.com', 'us-east-1', 'test:tester', 'testing'), new GetObjectCommand({ Bucket: 'easel', Key: 'jobs/a/image.png' }), {
      expiresIn: 3600,
      signingDate: new Date(1_800_000_000_123),
    });
    assert.equal(fast.url('jobs/a/image.png', 3600, 1_800_000_000_123), sdk);
  });

  it('leaves every configuration it does not fully determine to the SDK', () => {
    assert.equal(S3QueryPresigner.forOptions(options('http://127.0.0.1:18380', { forcePathStyle: false })), null);
    assert.equal(S3QueryPresigner.forOptions(options('http://127.0.0.1:18380', { accessKeyId: null })), null);
    assert.equal(S3QueryPresigner.forOptions(options('http://127.0.0.1:18380', { secretAccessKey: null })), null);
    assert.equal(S3QueryPresigner.forOptions({ ...options(''), endpoint: null }), null);
    assert.equal(S3QueryPresigner.forOptions(options('http://127.0.0.1:18380/base')), null);
    assert.equal(S3QueryPresigner.forOptions(options('not a url')), null);
    assert.ok(S3QueryPresigner.forOptions(options('http://127.0.0.1:18380/')));
  });
});
