import type { Db } from '../../src/store/db.js';
import type { BlobStore } from '../../src/blob/port.js';
import { newJobRow } from '../../src/jobs/new-row.js';
import { newId } from '../../src/util/ids.js';
import { mapLimit } from '../../src/util/map-limit.js';
import path from 'node:path';
import crypto from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { openSqlite } from '../../src/store/db.js';
import { openPostgres } from '../../src/store/postgres.js';
import { FsBlobStore } from '../../src/blob/fs-store.js';
import { S3BlobStore } from '../../src/blob/s3-store.js';
import { UrlSigner } from '../../src/blob/url-signer.js';
import { S3_CREDS, S3_ENDPOINT, type EaselProcess } from './server.js';
import fs from 'node:fs';

/** The running server's own store and blob storage, opened from this process (to seed, or to check). */
export function openServerStores(srv: EaselProcess): { db: Db; blob: BlobStore } {
  if (srv.databaseUrl) {
    const blob = new S3BlobStore({ endpoint: S3_ENDPOINT, bucket: srv.bucket!, region: 'us-east-1', accessKeyId: S3_CREDS.accessKeyId, secretAccessKey: S3_CREDS.secretAccessKey, forcePathStyle: true, publicEndpoint: null });
    return { db: openPostgres(srv.databaseUrl, 4).db, blob };
  }
  return {
    db: openSqlite(path.join(srv.dataDir, 'easel.sqlite')),
    blob: new FsBlobStore(path.join(srv.dataDir, 'blobs'), new UrlSigner(crypto.randomBytes(32)), () => srv.baseUrl),
  };
}

/** Every blob key the server has stored, read from the storage itself: the bucket, every page of it, or the blobs directory. */
export async function allStoredKeys(srv: EaselProcess): Promise<string[]> {
  if (srv.bucket) {
    const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
    try {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: srv.bucket, ContinuationToken: token }));
        for (const o of page.Contents ?? []) keys.push(o.Key!);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    } finally {
      s3.destroy();
    }
  }
  const dir = path.join(srv.dataDir, 'blobs');
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => f.split(path.sep).join('/'));
}

/** What one seeded job is: its id and every blob key stored for it (its folder's files, then its owned input). */
export interface SeededJob {
  id: string;
  keys: string[];
}

export interface SeedOptions {
  accountId: string;
  count: number;
  /** result_expires_at of every seeded job. */
  expiresAt: number;
  /**
   * The job's result_json, as a template: every occurrence of `templateId` becomes the new job's id
   * (so a real job's stored result, keys included, can be cloned). Default: a minimal image result.
   */
  template?: { resultJson: string; templateId: string };
  /** The job's operation and model (default: an easel-sketch image). */
  operation?: string;
  model?: string;
  /** Every nth job also owns an input file sent with its request (`inputs[].blob_key`), as a multipart edit does. */
  inputEvery?: number;
  /** Files in each job's folder: the image (1), and its kept params (2, the default). */
  files?: 1 | 2;
  /** Blob writes in flight. */
  concurrency?: number;
}

const PNG_1PX = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000'.concat('1f15c4890000000d49444154789c6360f8cf00000301010018dd8db00000000049454e44ae426082'), 'hex');

/**
 * Completed image jobs whose retention ends at `expiresAt`, written through the store's own row
 * builder (src/jobs/new-row.ts) and the blob store's own put: one or two small real files each, under the
 * job's folder where the image pipeline keeps them. Rows go in batches of 100 per insert.
 */
export async function seedEndedJobs(db: Db, blob: BlobStore, o: SeedOptions): Promise<SeededJob[]> {
  const now = Date.now();
  const jobs: (SeededJob & { request: unknown; resultJson: string })[] = [];
  for (let i = 0; i < o.count; i++) {
    const id = newId();
    const input = o.inputEvery && i % o.inputEvery === 0 ? `uploads/${o.accountId}/${newId()}.png` : null;
    const resultJson = o.template
      ? o.template.resultJson.split(o.template.templateId).join(id)
      : JSON.stringify({ image: { formats: { png: { key: `jobs/${id}/run-1/image.png`, mime: 'image/png', size_bytes: PNG_1PX.length, hash: 'seeded' } } } });
    const keys = [`jobs/${id}/run-1/image.png`, ...(o.files === 1 ? [] : [`jobs/${id}/raw/params.json`]), ...(input ? [input] : [])];
    jobs.push({ id, keys, resultJson, request: { prompt: `seeded ${i}`, ...(input ? { inputs: [{ blob_key: input }] } : {}) } });
  }
  await mapLimit(
    jobs.flatMap((j) => j.keys),
    o.concurrency ?? 16,
    (key) => (key.endsWith('.json') ? blob.put(key, Buffer.from('{"seeded":true}'), 'application/json') : blob.put(key, PNG_1PX, 'image/png')),
  );
  for (let i = 0; i < jobs.length; i += 100) {
    const rows = jobs.slice(i, i + 100).map((j) => ({
      ...newJobRow({ accountId: o.accountId, keyId: null, operation: o.operation ?? 'image', model: o.model ?? 'easel-sketch', request: j.request, holdMicros: 0, scenesTotal: 1 }, j.id, now, 60),
      status: 'completed' as const,
      result_json: j.resultJson,
      scenes_completed: 1,
      attempts: 1,
      started_at: now,
      completed_at: now,
      result_expires_at: o.expiresAt,
    }));
    await db.insertInto('jobs').values(rows).execute();
  }
  return jobs.map(({ id, keys }) => ({ id, keys }));
}
