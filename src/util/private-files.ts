import fs from 'node:fs';
import path from 'node:path';

/**
 * The data directory holds the database (API key hashes, webhook secrets, the ledger), generated
 * secrets and every stored image: nobody but the server's own user may read it (issue 20).
 * Directories are 0700 and files 0600, whoever creates them.
 */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * `easel serve` and `easel worker` run with umask 077, so every file the process creates is
 * private even when it is not created by our code with an explicit mode: SQLite's -wal, -shm and
 * journal files, temporary files of libraries. Set before anything is opened.
 */
export function usePrivateUmask(): void {
  process.umask(0o077);
}

/** mkdir -p with mode 0700 (the mode applies to each directory it creates). */
export function mkdirPrivate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/**
 * Creates the data directory private, and tightens one made by an older version: the directory
 * itself becomes 0700 (so nothing inside is reachable by other users, however old its modes),
 * its direct entries 0700 (directories) or 0600 (files), and the SQLite files wherever they are.
 * Stored images below `blobs/` keep their modes; new ones are written 0600.
 */
export function securePrivateDir(dataDir: string, files: readonly string[] = []): void {
  mkdirPrivate(dataDir);
  chmodIfLoose(dataDir, PRIVATE_DIR_MODE);
  for (const e of fs.readdirSync(dataDir, { withFileTypes: true })) {
    if (e.isDirectory()) chmodIfLoose(path.join(dataDir, e.name), PRIVATE_DIR_MODE);
    else if (e.isFile()) chmodIfLoose(path.join(dataDir, e.name), PRIVATE_FILE_MODE);
  }
  tightenFiles(files);
}

/** Files (that exist) to 0600. */
export function tightenFiles(files: readonly string[]): void {
  for (const f of files) chmodIfLoose(f, PRIVATE_FILE_MODE);
}

/** Removes group and other permissions; a missing file or one owned by another user is left alone. */
function chmodIfLoose(p: string, mode: number): void {
  try {
    const st = fs.statSync(p);
    if ((st.mode & 0o077) !== 0) fs.chmodSync(p, mode);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EPERM') throw e;
  }
}

/** The SQLite database file and the -wal and -shm files beside it. */
export const sqliteFiles = (file: string) => [file, `${file}-wal`, `${file}-shm`, `${file}-journal`];
