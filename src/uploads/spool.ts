import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bytes kept from the start of a spooled file: enough for the magic numbers of every accepted format. */
const HEAD_BYTES = 64;
/** A spooled file older than this belongs to a process that died mid-upload (no upload takes an hour to check). */
const STALE_MS = 3_600_000;

export interface SpooledFile {
  path: string;
  size: number;
  /** The first bytes, for sniffing the format without reading the file again. */
  head: Buffer;
}

/**
 * Where an upload's bytes wait between the socket and the blob store: `<data dir>/tmp/uploads`
 * (0700; each file 0600, created exclusively under a random name). A file is written as it
 * arrives — the socket is read only as fast as the disk takes it — so an upload costs the
 * process a stream buffer, not its size. Files are the caller's to remove (finally).
 */
export class UploadSpool {
  constructor(readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  }

  /** Drops files a crashed process left behind (several processes may share the data directory: only old ones). */
  async sweepStale(now = Date.now()): Promise<number> {
    let n = 0;
    for (const name of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      const file = path.join(this.dir, name);
      const st = await fsp.stat(file).catch(() => null);
      if (st && now - st.mtimeMs > STALE_MS) {
        await fsp.rm(file, { force: true });
        n++;
      }
    }
    return n;
  }

  /** Writes the stream to a new file; on any failure the file is removed and the error rethrown. */
  async write(stream: Readable): Promise<SpooledFile> {
    const file = path.join(this.dir, `${crypto.randomUUID()}.part`);
    let size = 0;
    const heads: Buffer[] = [];
    let headLen = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (headLen < HEAD_BYTES) {
          const piece = chunk.subarray(0, HEAD_BYTES - headLen);
          heads.push(Buffer.from(piece));
          headLen += piece.length;
        }
        done(null, chunk);
      },
    });
    try {
      await pipeline(stream, counter, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
    } catch (e) {
      await fsp.rm(file, { force: true });
      throw e;
    }
    return { path: file, size, head: Buffer.concat(heads) };
  }

  async remove(f: SpooledFile): Promise<void> {
    await fsp.rm(f.path, { force: true });
  }
}
