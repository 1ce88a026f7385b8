import fs from 'node:fs';
import path from 'node:path';
import type { FileEntry } from './files.js';

/**
 * A backup directory (`easel backup DIR`):
 *   manifest.json   this summary, written last: a directory without it is an unfinished backup
 *   files.jsonl     one FileEntry per line for every other file (blobs/…, secrets.json, c2pa/…)
 *   easel.sqlite    the database snapshot (a single file, rollback-journal mode)
 *   secrets.json, c2pa/, blobs/<key>   as in a data directory
 * The file list is a separate JSON-lines file so a backup of millions of blobs is written and
 * checked one line at a time, never held in memory.
 */
export const MANIFEST_FORMAT = 'easel-backup';
export const MANIFEST_VERSION = 1;
export const DB_FILE = 'easel.sqlite';
export const FILES_LIST = 'files.jsonl';

/** Why a job's or upload's files are not in the backup although the snapshot still pointed at them. */
export interface Dropped {
  kind: 'job' | 'upload';
  id: string;
  /** `retention`: the sweeper deleted them between the snapshot and the copy (they were due); `missing`: they were not due, the source had lost them. */
  reason: 'retention' | 'missing';
  keys: string[];
  /** What the backup's database says about it now (marked expired, or left as it was for a running job). */
  action: 'marked_expired' | 'marked_blob_deleted' | 'left_running';
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  created_at: string;
  /** The Easel version that wrote it (package.json). */
  easel_version: string;
  source_data_dir: string;
  database: FileEntry;
  files_list: FileEntry;
  counts: { accounts: number; jobs: number; ledger_rows: number; uploads: number; files: number; file_bytes: number };
  dropped: Dropped[];
}

export function writeManifest(dir: string, m: Manifest): void {
  const tmp = path.join(dir, 'manifest.json.tmp');
  fs.writeFileSync(tmp, `${JSON.stringify(m, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, path.join(dir, 'manifest.json'));
}

/** The manifest of a finished backup, or an error saying what is wrong with the directory. */
export function readManifest(dir: string): Manifest {
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) {
    throw new Error(`${dir} is not a finished Easel backup: it has no manifest.json (a backup interrupted before its end has none)`);
  }
  const m = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Manifest>;
  if (m.format !== MANIFEST_FORMAT) throw new Error(`${file} is not an Easel backup manifest`);
  if (typeof m.version !== 'number' || m.version > MANIFEST_VERSION) {
    throw new Error(`${file} has format version ${String(m.version)}; this Easel reads up to version ${MANIFEST_VERSION} (restore with the version that wrote it: ${String(m.easel_version)})`);
  }
  return m as Manifest;
}
