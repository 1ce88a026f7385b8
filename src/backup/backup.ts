import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import type { Config } from '../config.js';
import { BLOB_KEY_RE } from '../blob/port.js';
import { mapLimit } from '../util/map-limit.js';
import { PRIVATE_DIR_MODE } from '../util/private-files.js';
import { jobBlobKeys } from './blob-refs.js';
import { copyHashed, flushFilesystem, hashFile, isEmptyDir, listFiles, type FileEntry } from './files.js';
import { DB_FILE, FILES_LIST, MANIFEST_FORMAT, MANIFEST_VERSION, writeManifest, type Dropped, type Manifest } from './manifest.js';

const PAGE = 500;
/** Blob files copied at once. */
const COPY_CONCURRENCY = 8;
/** Files beside the database in a data directory that a restored server needs: signing and encryption keys, the C2PA credentials. */
const KEY_FILES = ['secrets.json'];
const KEY_DIRS = ['c2pa'];

/** Thrown for what the operator must fix (printed without a stack). */
export class BackupError extends Error {}

/** The embedded mode only: SQLite in the data directory and blobs on its disk. */
export function assertEmbedded(config: Config, what: string): void {
  if (config.databaseUrl) {
    throw new BackupError(`${what} is for the embedded mode (SQLite + local disk); this deployment uses PostgreSQL (EASEL_DATABASE_URL): back it up with pg_dump / WAL archiving and S3 versioning, see docs/DEPLOY.md "Backups"`);
  }
  if (config.s3.endpoint || config.s3.accessKeyId) {
    throw new BackupError(`${what} is for the embedded mode (SQLite + local disk); this deployment stores blobs in S3 (EASEL_S3_ENDPOINT): see docs/DEPLOY.md "Backups"`);
  }
}

export interface BackupResult {
  manifest: Manifest;
  /** Referenced blobs the source had lost (not retention): the backup is usable, the source needs `easel verify`. */
  damaged: Dropped[];
}

/**
 * `easel backup DIR`, online. 1: a consistent snapshot of the database through SQLite's online
 * backup API (better-sqlite3 `db.backup()`, from this process, beside the serving ones: WAL lets
 * them keep writing). 2: the blobs that snapshot points at, read from the snapshot, never from the
 * live database: every kept job's folder (`jobs/<id>/`, which also holds a running job's kept raw
 * output, so a restored server resumes it without paying the vendor again), its stored input
 * files and every kept upload. A blob the snapshot points at that is gone by the time it is copied
 * (the retention sweeper ran in between) is not papered over: the job is marked expired in the
 * backup's database (answers result_expired after restore, as it does on the live server once the
 * sweep ends), an upload marked blob-deleted, and the manifest lists them. 3: the key files
 * (secrets.json, c2pa/), then manifest.json last.
 */
export async function backup(config: Config, dir: string, log: (line: string) => void): Promise<BackupResult> {
  assertEmbedded(config, 'easel backup');
  if (!fs.existsSync(config.databaseFile)) throw new BackupError(`no database at ${config.databaseFile}: set EASEL_DATA_DIR to the server's data directory`);
  const target = path.resolve(dir);
  if (target === config.dataDir || target.startsWith(config.dataDir + path.sep)) throw new BackupError(`the backup directory ${target} must be outside the data directory ${config.dataDir}`);
  if (!isEmptyDir(target)) throw new BackupError(`${target} is not empty: give a new (or empty) directory for each backup`);
  fs.mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });

  // 1. The snapshot. The whole copy in one step after the first: a step copies pages under one read
  // transaction, and SQLite restarts a multi-step backup whenever another process writes in between.
  const started = Date.now();
  const dbCopy = path.join(target, DB_FILE);
  const src = new SQLite(config.databaseFile, { readonly: true, fileMustExist: true });
  try {
    src.pragma('busy_timeout = 5000');
    await src.backup(dbCopy, { progress: () => 0x7fffffff });
  } finally {
    src.close();
  }
  fs.chmodSync(dbCopy, 0o600);
  log(`database snapshot taken (${(fs.statSync(dbCopy).size / 1e6).toFixed(1)} MB)`);

  const snap = new SQLite(dbCopy);
  const blobRoot = path.join(config.dataDir, 'blobs');
  const list = fs.openSync(path.join(target, FILES_LIST), 'w', 0o600);
  const dropped: Dropped[] = [];
  let files = 0;
  let bytes = 0;
  const record = (e: FileEntry) => {
    fs.writeSync(list, `${JSON.stringify(e)}\n`);
    files++;
    bytes += e.size;
  };
  const copyBlob = async (key: string) => {
    const e = await copyHashed(path.join(blobRoot, ...key.split('/')), path.join(target, 'blobs', ...key.split('/')), `blobs/${key}`);
    if (e) record(e);
    return e !== null;
  };
  try {
    // 2a. Jobs whose files are kept, a page at a time from the snapshot.
    const jobsPage = snap.prepare('select id, status, request_json, result_json, result_expires_at from jobs where result_expired_at is null and id > ? order by id limit ?');
    const stepsOf = snap.prepare('select output_json from job_steps where job_id = ?').pluck();
    const markExpired = snap.prepare('update jobs set result_expired_at = ?, updated_at = ? where id = ?');
    let after = '';
    for (;;) {
      const page = jobsPage.all(after, PAGE) as { id: string; status: string; request_json: string; result_json: string | null; result_expires_at: number | null }[];
      await mapLimit(page, COPY_CONCURRENCY, async (job) => {
        const copied = new Set<string>();
        const folder = `jobs/${job.id}`;
        for (const rel of await listFiles(path.join(blobRoot, 'jobs', job.id))) {
          const key = `${folder}/${rel}`;
          // A half-written file of a put in progress (src/blob/fs-store.ts writes then renames) is not a blob.
          if (rel.endsWith('.tmp') || !BLOB_KEY_RE.test(key)) continue;
          if (await copyBlob(key)) copied.add(key);
        }
        const refs = jobBlobKeys(job, stepsOf.all(job.id));
        for (const key of refs) if (!copied.has(key) && !key.startsWith(`${folder}/`) && (await copyBlob(key))) copied.add(key);
        const lost = refs.filter((k) => !copied.has(k));
        if (lost.length === 0) return;
        const ended = job.status === 'completed' || job.status === 'failed' || job.status === 'canceled';
        const due = job.result_expires_at !== null && Number(job.result_expires_at) <= Date.now();
        if (ended) markExpired.run(Date.now(), Date.now(), job.id);
        dropped.push({ kind: 'job', id: job.id, reason: due ? 'retention' : 'missing', keys: lost, action: ended ? 'marked_expired' : 'left_running' });
      });
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }

    // 2b. Kept uploads.
    const upPage = snap.prepare('select id, key, created_at from uploads where blob_deleted_at is null and id > ? order by id limit ?');
    const markDeleted = snap.prepare('update uploads set blob_deleted_at = ? where id = ?');
    after = '';
    for (;;) {
      const page = upPage.all(after, PAGE) as { id: string; key: string; created_at: number }[];
      await mapLimit(page, COPY_CONCURRENCY, async (u) => {
        if (await copyBlob(u.key)) return;
        markDeleted.run(Date.now(), u.id);
        const due = Number(u.created_at) <= Date.now() - config.uploadRetentionMs;
        dropped.push({ kind: 'upload', id: u.id, reason: due ? 'retention' : 'missing', keys: [u.key], action: 'marked_blob_deleted' });
      });
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }

    // 3. Key files: without them a restored server could not verify the URLs it signed nor read the webhook secrets it stored.
    for (const f of KEY_FILES) {
      const e = await copyHashed(path.join(config.dataDir, f), path.join(target, f), f);
      if (e) record(e);
    }
    for (const d of KEY_DIRS) {
      for (const rel of await listFiles(path.join(config.dataDir, d))) {
        const e = await copyHashed(path.join(config.dataDir, d, ...rel.split('/')), path.join(target, d, ...rel.split('/')), `${d}/${rel}`);
        if (e) record(e);
      }
    }
  } catch (e) {
    snap.close();
    throw e;
  } finally {
    fs.fsyncSync(list);
    fs.closeSync(list);
  }

  // The snapshot as one self-contained file: its WAL folded in, rollback-journal mode (a server opening it switches back to WAL).
  const count = (table: string) => Number(snap.prepare(`select count(*) from ${table}`).pluck().get());
  const counts = { accounts: count('accounts'), jobs: count('jobs'), ledger_rows: count('ledger'), uploads: count('uploads'), files, file_bytes: bytes };
  snap.pragma('wal_checkpoint(TRUNCATE)');
  snap.pragma('journal_mode = DELETE');
  snap.close();

  const database = await hashFile(path.join(target, DB_FILE), DB_FILE);
  const filesList = await hashFile(path.join(target, FILES_LIST), FILES_LIST);
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    created_at: new Date(started).toISOString(),
    easel_version: easelVersion(),
    source_data_dir: config.dataDir,
    database,
    files_list: filesList,
    counts,
    dropped,
  };
  flushFilesystem(target);
  writeManifest(target, manifest);
  flushFilesystem(target);
  return { manifest, damaged: dropped.filter((d) => d.reason === 'missing') };
}

function easelVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
