import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { S3BlobStore } from '../../src/blob/s3-store.js';

// No network: presigning and checking are pure computation over the store's own credentials.
const options = { endpoint: 'http://127.0.0.1:9', bucket: 'easel', region: 'us-east-1', accessKeyId: 'ak', secretAccessKey: 'sk', forcePathStyle: true, publicEndpoint: null };
const store = new S3BlobStore(options);
const sdk = (accessKeyId: string, secretAccessKey: string) =>
  // Built as src/blob/s3-store.ts builds its client (checksum settings change the signed query).
  new S3Client({
    region: 'us-east-1',
    endpoint: options.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
const KEY = 'uploads/acc/0190aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee.png';

describe('S3 presigned URLs recognised as our own (keyOfSignedUrl)', () => {
  it('a URL the store signed yields its key', async () => {
    const url = await store.signedUrl(KEY, Date.now() + 3600_000);
    assert.deepEqual(await store.keyOfSignedUrl(url), { key: KEY });
  });

  it('an altered key, lifetime or signature is refused as invalid', async () => {
    const url = await store.signedUrl(KEY, Date.now() + 3600_000);
    const otherKey = url.replace('0190aaaa', '0190ffff');
    const longer = url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800');
    const sig = new URL(url);
    sig.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    for (const u of [otherKey, longer, sig.toString()]) assert.deepEqual(await store.keyOfSignedUrl(u), { refused: 'invalid' }, u);
  });

  it('an expired URL of ours is refused as expired', async () => {
    const url = await getSignedUrl(sdk('ak', 'sk'), new GetObjectCommand({ Bucket: 'easel', Key: KEY }), { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) });
    assert.deepEqual(await store.keyOfSignedUrl(url), { refused: 'expired' });
  });

  it('other buckets, hosts or credentials are not ours (null: the guarded fetcher decides)', async () => {
    const foreign = await getSignedUrl(sdk('someone-else', 'x'), new GetObjectCommand({ Bucket: 'easel', Key: KEY }), { expiresIn: 60 });
    const otherBucket = (await store.signedUrl(KEY, Date.now() + 60_000)).replace('/easel/', '/other/');
    for (const u of [foreign, otherBucket, 'https://example.com/easel/x.png', 'not a url']) assert.equal(await store.keyOfSignedUrl(u), null, u);
  });
});
