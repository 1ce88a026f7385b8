import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EaselError } from './errors.js';
import { mapLimit } from './map-limit.js';
import { EXT_OF } from '../contract/image-formats.js';
import { isBatchResult, isGenerationResult, isProcessResult, isStoryResult, type FormatFile, type ImageFormat, type Job, type JobResult } from './types.js';

export interface DownloadOptions {
  /** Which formats of each image: one, a list, or `all` (default `all`). Character references have one file. */
  formats?: ImageFormat | ImageFormat[] | 'all';
  /** File name stem of a single image or processed result (default `image-<job id>`, `processed-<operation>`). */
  name?: string;
  /** Downloads in flight at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
}

export interface DownloadedFile {
  path: string;
  kind: 'image' | 'scene' | 'character_ref' | 'processed';
  format: string;
  /** 0-based scene index (scenes). */
  index?: number;
  /** Character reference name (character refs). */
  name?: string;
  size_bytes: number;
  /** true when an identical file (same SHA-256, or any complete file where none is known) was already there. */
  existed: boolean;
}

/**
 * What downloading needs from a client (the Easel class has it). Named here rather than importing
 * the class, so client.ts → download.ts stays a one-way arrow.
 */
export interface ByteDownloader {
  downloadBytes(url: string, o?: { signal?: AbortSignal }): Promise<{ bytes: Buffer; contentType: string | null }>;
}

interface Planned {
  url: string;
  file: string;
  hash?: string;
  meta: Omit<DownloadedFile, 'path' | 'size_bytes' | 'existed'>;
}

const extOf = (format: string) => EXT_OF[format] ?? format.replace(/[^a-z0-9]/gi, '').toLowerCase();
const formatOfType = (contentType: string | null | undefined) => (contentType ?? '').replace(/^image\//, '').split(';')[0]!.trim() || 'bin';
const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/** A name safe in any file system, kept readable: "Aria (winter)" → "aria-winter". */
export function slug(s: string): string {
  return (
    s
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 60) || 'unnamed'
  );
}

function pickFormats(available: Record<string, FormatFile>, want: DownloadOptions['formats']): [string, FormatFile][] {
  const all = Object.entries(available);
  if (want === undefined || want === 'all') return all;
  const list = Array.isArray(want) ? want : [want];
  const missing = list.filter((f) => !(f in available));
  if (missing.length) throw new EaselError('format_unavailable', `This result has no ${missing.join(', ')} file (it has ${Object.keys(available).join(', ')}).`);
  return all.filter(([f]) => list.includes(f as ImageFormat));
}

/** A job (not a result: a processing result also names its `job_id`, but has no `status`). */
const isJob = (x: JobResult | Job): x is Job => typeof (x as Job).job_id === 'string' && typeof (x as Job).status === 'string';

/** Which files a result consists of, and where each goes. */
function plan(result: JobResult | Job, opts: DownloadOptions): Planned[] {
  const job = isJob(result) ? result : null;
  const r: unknown = job ? job.result : result;
  if (r === undefined) throw new EaselError('job_not_completed', `Job ${job!.job_id} is ${job!.status}: it has no result to download.`);
  if (isStoryResult(r)) {
    const width = String(r.scenes.length).length < 2 ? 2 : String(r.scenes.length).length;
    const out: Planned[] = [];
    r.scenes.forEach((scene, i) => {
      // `images` holds the URLs; `formats` each file's detail, whose hash the download is checked against.
      for (const [fmt, f] of pickFormats(scene.formats, opts.formats)) {
        out.push({ url: f.url, hash: f.hash, file: `scene-${String(i + 1).padStart(width, '0')}.${extOf(fmt)}`, meta: { kind: 'scene', format: fmt, index: i } });
      }
    });
    const used = new Set<string>();
    for (const ref of r.character_refs) {
      let stem = `character-${slug(ref.name)}`;
      for (let n = 2; used.has(stem); n++) stem = `character-${slug(ref.name)}-${n}`;
      used.add(stem);
      out.push({ url: ref.url, file: stem, meta: { kind: 'character_ref', format: '', name: ref.name } });
    }
    return out;
  }
  if (isGenerationResult(r)) {
    const stem = opts.name ?? `image-${r.id}`;
    return pickFormats(r.formats, opts.formats).map(([fmt, f]) => ({ url: f.url, hash: f.hash, file: `${stem}.${extOf(fmt)}`, meta: { kind: 'image', format: fmt } }));
  }
  if (isProcessResult(r)) {
    const fmt = formatOfType(r.content_type);
    return [{ url: r.image_url, file: `${opts.name ?? `processed-${slug(r.operation)}`}.${extOf(fmt)}`, meta: { kind: 'processed', format: fmt } }];
  }
  if (isBatchResult(r)) throw new EaselError('unknown_result', "A batch's result holds counts, not images: save each item's result (batchItems, batchResults).");
  throw new EaselError('unknown_result', 'Not a result this SDK knows how to download (expected a generation, story or processing result).');
}

/**
 * Saves every file of a result into `dir` (created if missing). Files land whole or not at all
 * (written beside, then renamed), are checked against their SHA-256 where the server gave one, and
 * a file already there with that hash is kept, so calling this again after an interruption only
 * fetches what is missing. Character references are saved with the extension of their content type.
 */
export async function downloadAll(client: ByteDownloader, result: JobResult | Job, dir: string, opts: DownloadOptions = {}): Promise<DownloadedFile[]> {
  const items = plan(result, opts);
  await fs.promises.mkdir(dir, { recursive: true });
  return mapLimit(items, opts.concurrency ?? 4, async (it): Promise<DownloadedFile> => {
    const hasExt = it.meta.kind !== 'character_ref';
    if (hasExt) {
      const existing = path.join(dir, it.file);
      const have = await fs.promises.readFile(existing).catch(() => null);
      if (have && (it.hash ? sha256(have) === it.hash : have.length > 0)) return { ...it.meta, path: existing, size_bytes: have.length, existed: true };
    } else {
      // A reference's extension is known only from its content type; any complete earlier copy counts.
      const prior = (await fs.promises.readdir(dir)).find((f) => f.startsWith(`${it.file}.`) && !f.endsWith('.part'));
      if (prior) {
        const st = await fs.promises.stat(path.join(dir, prior));
        if (st.size > 0) return { ...it.meta, format: path.extname(prior).slice(1), path: path.join(dir, prior), size_bytes: st.size, existed: true };
      }
    }
    const { bytes, contentType } = await client.downloadBytes(it.url, opts.signal ? { signal: opts.signal } : {});
    if (it.hash && sha256(bytes) !== it.hash) {
      throw new EaselError('download_corrupt', `${it.file}: the downloaded bytes do not match the SHA-256 the server reported.`);
    }
    const format = it.meta.format || formatOfType(contentType);
    const file = path.join(dir, hasExt ? it.file : `${it.file}.${extOf(format)}`);
    const part = `${file}.${process.pid}.part`;
    await fs.promises.writeFile(part, bytes);
    await fs.promises.rename(part, file);
    return { ...it.meta, format, path: file, size_bytes: bytes.length, existed: false };
  });
}
