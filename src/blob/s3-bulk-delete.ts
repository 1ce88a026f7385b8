import crypto from 'node:crypto';
import { DeleteObjectCommand, DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { mapLimit } from '../util/map-limit.js';

/** S3's limit for one DeleteObjects request. */
const MAX_KEYS_PER_DELETE = 1000;
const MIN_KEYS_PER_DELETE = 10;
/**
 * What one multi-object delete should take. A server answers it only once every key is deleted
 * (AWS: well under a second for 1 000; Swift on a loaded machine: 20–150 keys a second), and the
 * client gives up on a request silent for 15 s (src/blob/s3-store.ts): the keys per request are
 * sized from the last ones' speed to take about this long, between 10 and 1 000.
 */
const TARGET_DELETE_MS = 2000;
/** Multi-object deletes in flight (Swift runs each one's deletes 2 at a time by default). */
const DELETES_IN_FLIGHT = 4;
/** One-key deletes in flight, for a server without DeleteObjects. */
const SINGLE_DELETES_IN_FLIGHT = 8;
/** Per-folder listings in flight, once a walk over a span of folders is found too sparse. */
const LISTS_IN_FLIGHT = 4;
/**
 * A walk over the span of a batch's folders goes on while each page (up to 1 000 keys) has closed at
 * least this many of them on average; sparser than that, one listing per remaining folder costs fewer requests.
 */
const MIN_FOLDERS_PER_PAGE = 20;

/**
 * The retention sweep's S3 side: which keys lie under many folders, and deleting many keys, in as
 * few requests as the server allows. Job ids are UUIDv7 (time-ordered), so the jobs of a backlog —
 * mostly of the same age, kept for the same default retention — have neighbouring folders: one
 * listing walks them all at 1 000 keys a request instead of one listing per job. Keys of folders
 * in the span that are not asked for are skipped, never deleted.
 */
export class S3BulkDelete {
  /** Cleared the first time the server says it has no DeleteObjects; one-key deletes from then on. */
  private multiDelete = true;
  /** Keys per multi-object delete, adapted to the server's speed (TARGET_DELETE_MS). */
  private chunkSize = 100;

  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /** Every key under each folder (`folders` end with `/`). */
  async keysUnder(folders: readonly string[]): Promise<string[]> {
    const sorted = [...new Set(folders)].sort();
    if (sorted.length === 0) return [];
    const keys = new Set<string>();
    const done = await this.walk(sorted, keys);
    // The folder the walk stopped in may be half-listed: listing it again in full is harmless (a Set).
    await mapLimit(sorted.slice(done), LISTS_IN_FLIGHT, async (folder) => {
      for await (const key of this.list(folder)) keys.add(key);
    });
    return [...keys];
  }

  /**
   * Lists from the first folder on, collecting the keys of asked folders; returns how many folders
   * (in sorted order) it finished. Stops early when pages close too few folders (a sparse span).
   */
  private async walk(sorted: string[], keys: Set<string>): Promise<number> {
    const prefix = commonPrefix(sorted);
    let p = 0;
    let pages = 0;
    let token: string | undefined;
    for (;;) {
      const page = await this.s3.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: prefix,
          // The folder's name without its slash sorts before every key in it.
          ...(token ? { ContinuationToken: token } : { StartAfter: sorted[0]!.slice(0, -1) }),
        }),
      );
      pages++;
      for (const o of page.Contents ?? []) {
        const key = o.Key;
        if (!key) continue;
        // Keys come in order: one past a folder's range means that folder is complete.
        while (p < sorted.length && key > sorted[p]! && !key.startsWith(sorted[p]!)) p++;
        if (p === sorted.length) return p;
        if (key.startsWith(sorted[p]!)) keys.add(key);
      }
      if (!page.IsTruncated) return sorted.length;
      if (p < pages * MIN_FOLDERS_PER_PAGE) return p;
      token = page.NextContinuationToken;
    }
  }

  private async *list(folder: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: folder, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Deletes the keys, up to 1 000 a request; throws unless every one is gone (a missing key counts as gone). */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    let next = 0;
    let failed: { error: unknown } | null = null;
    const lane = async () => {
      while (!failed && next < keys.length) {
        const chunk = keys.slice(next, next + this.chunkSize);
        next += chunk.length;
        const t0 = performance.now();
        try {
          await this.deleteChunk(chunk);
        } catch (e) {
          // Smaller requests on the next try: a timeout is the usual failure of a slow server.
          this.chunkSize = MIN_KEYS_PER_DELETE;
          failed ??= { error: e };
          return;
        }
        this.adapt(chunk.length, performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: DELETES_IN_FLIGHT }, lane));
    if (failed) throw (failed as { error: unknown }).error;
  }

  /** Halfway from the current size to the one that would have taken TARGET_DELETE_MS. */
  private adapt(keys: number, ms: number): void {
    const ideal = (keys * TARGET_DELETE_MS) / Math.max(1, ms);
    this.chunkSize = Math.max(MIN_KEYS_PER_DELETE, Math.min(MAX_KEYS_PER_DELETE, Math.round((this.chunkSize + ideal) / 2)));
  }

  private async deleteChunk(chunk: string[]): Promise<void> {
    if (this.multiDelete) {
      try {
        const cmd = new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } });
        withContentMd5(cmd);
        const r = await this.s3.send(cmd);
        const errors = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
        if (errors.length > 0) {
          const e = errors[0]!;
          throw new Error(`the object store kept ${errors.length} of ${chunk.length} objects it was asked to delete (${e.Key}: ${e.Code} ${e.Message ?? ''})`);
        }
        return;
      } catch (e) {
        if (!noMultiDelete(e)) throw e;
        this.multiDelete = false;
      }
    }
    await mapLimit(chunk, SINGLE_DELETES_IN_FLIGHT, (Key) => this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key })));
  }
}

function commonPrefix(sorted: string[]): string {
  const a = sorted[0]!;
  const b = sorted[sorted.length - 1]!;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return a.slice(0, i);
}

/**
 * DeleteObjects must carry a checksum of its body; the SDK sends a CRC32 one, which some S3
 * servers (Swift's s3api among them) do not know: they want Content-MD5, which AWS accepts too.
 */
function withContentMd5(cmd: DeleteObjectsCommand): void {
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { body?: unknown; headers?: Record<string, string> };
      if (req.headers && (typeof req.body === 'string' || Buffer.isBuffer(req.body))) {
        req.headers['content-md5'] = crypto.createHash('md5').update(req.body as string | Buffer).digest('base64');
      }
      return next(args);
    },
    { step: 'build', name: 'easelContentMd5' },
  );
}

/** The server does not offer multi-object delete (it exists in S3, not in every S3-compatible server). */
function noMultiDelete(e: unknown): boolean {
  const x = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return x.name === 'NotImplemented' || x.name === 'MethodNotAllowed' || x.$metadata?.httpStatusCode === 501 || x.$metadata?.httpStatusCode === 405;
}
