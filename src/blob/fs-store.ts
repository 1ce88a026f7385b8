import fs from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import type { BlobStore } from './port.js';
import { assertBlobKey } from './port.js';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../util/private-files.js';
import type { UrlSigner } from './url-signer.js';
import { mapLimit } from '../util/map-limit.js';

/**
 * Removals in flight at once (the retention sweep's batches). libuv runs file calls on a pool of 4
 * threads and a recursive rm is a chain of them (lstat, readdir, unlink, rmdir): 16 chains keep the
 * pool busy (measured: 1 300 job folders/s at 8, 1 500 at 32 on a loaded 2-core machine) without
 * queueing thousands of calls ahead of the API's own reads.
 */
const RM_CONCURRENCY = 16;

/** Local-disk blobs under `<data dir>/blobs`, served by the API at signed `/files/...` URLs. */
export class FsBlobStore implements BlobStore {
  constructor(
    readonly root: string,
    private readonly signer: UrlSigner,
    private readonly publicBase: () => string,
  ) {}

  private file(key: string): string {
    assertBlobKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
    // Write then rename: a crash never leaves a half-written file under the final name.
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    // Private whatever the umask: images are served only through signed URLs (issue 20).
    const fh = await fs.open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  }

  /**
   * A rename when the file is on the same filesystem as the blobs (the upload spool is under the
   * data directory, as the blobs are): no byte is copied. Across filesystems, a streamed copy to a
   * temporary name then a rename, as put() does.
   */
  async putFile(key: string, src: string): Promise<void> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    try {
      // Flushed before it takes the final name, as put() does: a crash never leaves a torn blob.
      await syncFile(src);
      await fs.rename(src, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
      await fs.copyFile(src, tmp);
      await syncFile(tmp);
      await fs.rename(tmp, file);
    }
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await fs.readFile(this.file(key));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fs.access(this.file(key));
      return true;
    } catch {
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    await removeTree(this.file(prefix));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    await mapLimit(keys, RM_CONCURRENCY, (k) => this.delete(k));
  }

  async deletePrefixes(prefixes: readonly string[]): Promise<void> {
    await mapLimit(prefixes, RM_CONCURRENCY, (p) => this.deletePrefix(p));
  }

  async signedUrl(key: string, expiresAt: number): Promise<string> {
    assertBlobKey(key);
    const exp = Math.floor(expiresAt / 1000);
    return `${this.publicBase()}/files/${key}?exp=${exp}&sig=${this.signer.sign(key, expiresAt)}`;
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      await fs.mkdir(this.root, { recursive: true, mode: PRIVATE_DIR_MODE });
      await fs.access(this.root, fs.constants.W_OK);
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }
}

/**
 * `rm -r`, in half the file calls of fs.rm's recursive walk (which stats every entry and tries
 * rmdir before reading a directory; fs.rm of a file stats it too): one readdir with entry types per directory, then unlink or
 * descend, then rmdir. The retention sweep's speed on local disk is this function's (issue 25).
 * A missing path is no error; a file written into the folder meanwhile makes rmdir fail (ENOTEMPTY),
 * so the sweep leaves that job unmarked for its next pass.
 */
async function removeTree(dir: string): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') return fs.rm(dir, { force: true });
    throw e;
  }
  await Promise.all(entries.map((e) => (e.isDirectory() ? removeTree(path.join(dir, e.name)) : fs.unlink(path.join(dir, e.name)).catch(ignoreMissing))));
  await fs.rmdir(dir).catch(ignoreMissing);
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}

async function syncFile(file: string): Promise<void> {
  const fh = await fs.open(file, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
