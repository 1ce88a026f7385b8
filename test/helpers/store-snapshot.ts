import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { MODE, S3_CREDS, S3_ENDPOINT } from './server.js';

interface Target {
  dataDir: string;
  databaseUrl?: string | null;
  bucket?: string | null;
}

/** One write against the real database of either mode (`$1`, `$2` placeholders): what an operator's SQL would do. */
export async function writeDb(target: Target, sql: string, params: unknown[] = []): Promise<void> {
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      await client.query(sql, params);
    } finally {
      await client.end();
    }
    return;
  }
  const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
  } finally {
    db.close();
  }
}

/** Rows of one query against the real database of either mode (`$1`, `$2` placeholders). */
export async function queryDb(target: Target, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }
  const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

/** Every stored file under `prefix/` with its size and last change, read from the real storage (disk or S3). */
export async function listBlobs(target: Target, prefix: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (MODE === 'scaleout') {
    const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
    try {
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: target.bucket!, Prefix: `${prefix}/`, ContinuationToken: token }));
        for (const o of page.Contents ?? []) out.set(o.Key!, `${o.Size} ${o.ETag} ${o.LastModified?.toISOString()}`);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } finally {
      s3.destroy();
    }
    return out;
  }
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const st = fs.statSync(p);
        out.set(path.relative(path.join(target.dataDir, 'blobs'), p), `${st.size} ${st.mtimeMs}`);
      }
    }
  };
  walk(path.join(target.dataDir, 'blobs', prefix));
  return out;
}
