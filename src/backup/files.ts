import crypto from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { spawnSync } from 'node:child_process';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../util/private-files.js';

/** One file of a backup: its path inside the backup (and the data directory), size and SHA-256. */
export interface FileEntry {
  path: string;
  size: number;
  sha256: string;
}

/**
 * Streams `src` to `dest` (created private) while hashing what was read. Not flushed one by one
 * (an fsync per blob made a backup of 60 000 files 4× slower): callers flush the whole
 * filesystem once at the end (flushFilesystem). null when `src`
 * does not exist (a blob deleted since it was listed). When `expect` is given, a copy whose bytes
 * differ is removed and reported as an error naming the file.
 */
export async function copyHashed(src: string, dest: string, rel: string, expect?: { size: number; sha256: string }): Promise<FileEntry | null> {
  let input: fs.ReadStream;
  try {
    const fh = await fsp.open(src, 'r');
    input = fh.createReadStream();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  await fsp.mkdir(path.dirname(dest), { recursive: true, mode: PRIVATE_DIR_MODE });
  const hash = crypto.createHash('sha256');
  let size = 0;
  await pipeline(
    input,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const c of chunks) {
        hash.update(c);
        size += c.length;
        yield c;
      }
    },
    fs.createWriteStream(dest, { mode: PRIVATE_FILE_MODE }),
  );
  const entry = { path: rel, size, sha256: hash.digest('hex') };
  if (expect && (expect.size !== entry.size || expect.sha256 !== entry.sha256)) {
    await fsp.rm(dest, { force: true });
    throw new Error(`${rel} in the backup does not match its manifest (size ${entry.size}, expected ${expect.size}; sha256 ${entry.sha256.slice(0, 12)}…, expected ${expect.sha256.slice(0, 12)}…): the backup is damaged`);
  }
  return entry;
}

/** Every regular file below `dir`, as paths relative to it with `/` separators; nothing when `dir` does not exist. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}

/** True when `dir` is missing or has no entries. */
export function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
}

/** Size and SHA-256 of one file, streamed. */
export async function hashFile(file: string, rel: string): Promise<FileEntry> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const c of fs.createReadStream(file) as AsyncIterable<Buffer>) {
    hash.update(c);
    size += c.length;
  }
  return { path: rel, size, sha256: hash.digest('hex') };
}

/**
 * Flushes everything written to the filesystem holding `dir` to disk, once, before a backup's
 * manifest (or a restore's database) is put in place: `sync -f` (syncfs) where coreutils has it,
 * else a plain `sync`.
 */
export function flushFilesystem(dir: string): void {
  const r = spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
  if (r.status !== 0) spawnSync('sync', [], { stdio: 'ignore' });
}
