import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import type { Config } from '../config.js';
import { PRIVATE_DIR_MODE } from '../util/private-files.js';
import { mapLimit } from '../util/map-limit.js';
import { assertEmbedded, BackupError } from './backup.js';
import { copyHashed, flushFilesystem, hashFile, isEmptyDir, type FileEntry } from './files.js';
import { DB_FILE, FILES_LIST, readManifest, type Manifest } from './manifest.js';

/** What a data directory holds that a restore replaces (--force removes only these). */
const DATA_ENTRIES = ['blobs', 'c2pa', 'secrets.json', 'tmp'];
/** Files copied at once. */
const COPY_CONCURRENCY = 8;

/**
 * `easel restore DIR` into the configured (EASEL_DATA_DIR) data directory, which must be empty or
 * missing; --force replaces the database files, blobs/, c2pa/, tmp/ and secrets.json of a
 * non-empty one and keeps anything else. Every file is checked against the manifest while it is
 * copied (size and SHA-256); everything goes to a staging folder first and is moved into place
 * only when all of it checked out, the database last, so a damaged backup leaves the target as it
 * was. The result is a data directory `easel serve` starts on.
 */
export async function restore(config: Config, dir: string, opts: { force: boolean }, log: (line: string) => void): Promise<Manifest> {
  assertEmbedded(config, 'easel restore');
  const from = path.resolve(dir);
  let manifest: Manifest;
  try {
    manifest = readManifest(from);
  } catch (e) {
    throw new BackupError((e as Error).message);
  }
  const to = config.dataDir;
  if (!isEmptyDir(to) && !opts.force) {
    throw new BackupError(`the data directory ${to} is not empty: restore into a new EASEL_DATA_DIR, or pass --force to replace its database, blobs and keys (stop every server using it first)`);
  }

  // The database and the file list first: a damaged backup is refused before anything is copied.
  for (const f of [manifest.database, manifest.files_list]) {
    const got = await hashFile(path.join(from, f.path), f.path).catch(() => null);
    if (!got || got.size !== f.size || got.sha256 !== f.sha256) throw new BackupError(`${f.path} in ${from} does not match its manifest: the backup is damaged`);
  }

  fs.mkdirSync(to, { recursive: true, mode: PRIVATE_DIR_MODE });
  const staging = fs.mkdtempSync(path.join(to, '.restore-'));
  try {
    let files = 0;
    const lines = readline.createInterface({ input: fs.createReadStream(path.join(from, FILES_LIST)), crlfDelay: Infinity });
    // Checked and copied 8 at a time, in batches read from the list as it streams.
    let batch: FileEntry[] = [];
    const copyBatch = async () => {
      await mapLimit(batch, COPY_CONCURRENCY, async (e) => {
        const parts = e.path.split('/');
        const got = await copyHashed(path.join(from, ...parts), path.join(staging, ...parts), e.path, e).catch((err: Error) => {
          throw new BackupError(err.message);
        });
        if (!got) throw new BackupError(`${e.path} is listed in ${FILES_LIST} but missing from ${from}: the backup is damaged`);
      });
      files += batch.length;
      if (Math.floor(files / 10_000) !== Math.floor((files - batch.length) / 10_000)) log(`${files} files restored`);
      batch = [];
    };
    for await (const line of lines) {
      if (!line) continue;
      const e = JSON.parse(line) as FileEntry;
      if (e.path.split('/').some((p) => p === '..' || p === '') || path.isAbsolute(e.path)) throw new BackupError(`${FILES_LIST} names an unsafe path: ${e.path}`);
      batch.push(e);
      if (batch.length >= 256) await copyBatch();
    }
    await copyBatch();
    if (files !== manifest.counts.files) throw new BackupError(`${FILES_LIST} lists ${files} files, the manifest counts ${manifest.counts.files}: the backup is damaged`);
    await copyHashed(path.join(from, DB_FILE), path.join(staging, DB_FILE), DB_FILE, manifest.database);

    flushFilesystem(staging);
    // Into place: the old entries out (--force), the restored ones in, the database last.
    const dbName = path.basename(config.databaseFile);
    for (const name of [...DATA_ENTRIES, dbName, `${dbName}-wal`, `${dbName}-shm`, `${dbName}-journal`]) {
      await fsp.rm(path.join(to, name), { recursive: true, force: true });
    }
    for (const name of fs.readdirSync(staging)) if (name !== DB_FILE) fs.renameSync(path.join(staging, name), path.join(to, name));
    fs.mkdirSync(path.dirname(config.databaseFile), { recursive: true, mode: PRIVATE_DIR_MODE });
    fs.renameSync(path.join(staging, DB_FILE), config.databaseFile);
    flushFilesystem(to);
  } finally {
    await fsp.rm(staging, { recursive: true, force: true });
  }
  return manifest;
}
