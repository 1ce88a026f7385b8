import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { EaselProcess, MODE, S3_CREDS, S3_ENDPOINT, api, waitFor } from './server.js';
import { assertSpecShape } from './spec-shapes.js';

/** The seed's terminal statuses: a canceled job is failed (with canceled: true). */
export const TERMINAL = new Set(['completed', 'failed']);
const ORDER = ['pending', 'processing', 'completed', 'failed'];

export interface PollTrace {
  job: any;
  /** Every answer seen, in order. */
  seen: any[];
}

/**
 * Polls a story until it is terminal, checking on every answer that the job has the spec's shape,
 * that status only moves forward and that scenes_completed never goes down.
 */
export async function pollStory(srv: EaselProcess, key: string, id: string, opts: { timeoutMs?: number; stepMs?: number; onAnswer?: (j: any) => void } = {}): Promise<PollTrace> {
  const seen: any[] = [];
  const job = await waitFor(
    async () => {
      const r = await api(srv.baseUrl, 'GET', `/v1/generate/story/${id}`, { key });
      if (r.status === 429) return null; // polled faster than the key's request rate allows: just ask again
      if (r.status !== 200) throw new Error(`poll answered ${r.status}: ${r.text}`);
      assertSpecShape('job', r.body);
      const prev = seen[seen.length - 1];
      if (prev) {
        if (ORDER.indexOf(r.body.status) < ORDER.indexOf(prev.status)) throw new Error(`status moved back: ${prev.status} → ${r.body.status}`);
        if (r.body.scenes_completed < prev.scenes_completed) throw new Error(`scenes_completed went down: ${prev.scenes_completed} → ${r.body.scenes_completed}`);
      }
      seen.push(r.body);
      opts.onAnswer?.(r.body);
      return TERMINAL.has(r.body.status) ? r.body : null;
    },
    opts.timeoutMs ?? 60_000,
    opts.stepMs ?? 25,
  );
  return { job, seen };
}

/** Capture rows of an account's jobs as {job, note, micros}, read from the real database. */
export async function captures(target: { dataDir: string; databaseUrl?: string | null }, accountName: string): Promise<{ job: string; note: string; micros: number }[]> {
  const q = `select l.job_id as job, l.note as note, -l.delta_held as micros from ledger l join accounts a on a.id = l.account_id
             where a.name = $1 and l.kind = 'capture' order by l.created_at`;
  if (target.databaseUrl) {
    const client = new pg.Client({ connectionString: target.databaseUrl });
    await client.connect();
    try {
      return (await client.query(q, [accountName])).rows.map((r) => ({ job: r.job, note: r.note, micros: Number(r.micros) }));
    } finally {
      await client.end();
    }
  }
  const db = new SQLite(path.join(target.dataDir, 'easel.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(q.replace('$1', '?')).all(accountName) as { job: string; note: string; micros: number }[]).map((r) => ({ ...r, micros: Number(r.micros) }));
  } finally {
    db.close();
  }
}

/** The story steps whose raw provider output is in storage right now (e.g. at the moment of a kill). */
export async function storedRawSteps(srv: EaselProcess): Promise<Set<string>> {
  const out = new Set<string>();
  if (MODE === 'scaleout') {
    const s3 = new S3Client({ endpoint: S3_ENDPOINT, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: srv.bucket!, Prefix: 'jobs/', ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const m = /^jobs\/[^/]+\/story\/raw\/([^/]+)$/.exec(o.Key ?? '');
        if (m) out.add(m[1]!);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    s3.destroy();
    return out;
  }
  const jobs = path.join(srv.dataDir, 'blobs', 'jobs');
  for (const id of fs.existsSync(jobs) ? fs.readdirSync(jobs) : []) {
    const raw = path.join(jobs, id, 'story', 'raw');
    // Temp files of an interrupted write are not stored outputs.
    for (const f of fs.existsSync(raw) ? fs.readdirSync(raw) : []) if (!f.endsWith('.tmp')) out.add(f);
  }
  return out;
}
