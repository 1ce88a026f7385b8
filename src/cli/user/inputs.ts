import fs from 'node:fs';
import path from 'node:path';
import type { Easel, ReferenceImage } from '../../sdk/index.js';
import { sniffImageFormat } from '../../contract/image-formats.js';
import { CliError } from './context.js';

const isUrl = (s: string) => /^https?:\/\//i.test(s);
const MAX_REFERENCES = 5;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * An input image as a URL the API accepts: an http(s) URL is used as is, a local file is uploaded
 * first (`POST /v1/upload`), and `-` reads stdin — image bytes, or the path or URL that another
 * `easel` command printed (so `easel image … | easel process remove-bg -` works).
 */
export async function resolveImage(easel: Easel, src: string): Promise<{ url: string; stem: string }> {
  if (src === '-') {
    const data = await readStdin();
    if (sniffImageFormat(data)) return { url: (await easel.upload(data, { filename: 'stdin' })).upload_url, stem: 'stdin' };
    const line = data.toString('utf8').trim().split('\n').pop()?.trim() ?? '';
    if (!line) throw new CliError('invalid_argument', 'stdin was empty: pipe an image, or a file path or URL.');
    return resolveImage(easel, line);
  }
  if (isUrl(src)) return { url: src, stem: stemOf(new URL(src).pathname) || 'image' };
  if (!fs.existsSync(src)) throw new CliError('file_not_found', `${src}: no such file.`);
  return { url: (await easel.uploadFile(src)).upload_url, stem: stemOf(src) };
}

function stemOf(p: string): string {
  return path.basename(p).replace(/\.[^.]+$/, '');
}

/**
 * Splits `--reference file:"description"` (the shell has already removed the quotes). The split is
 * at the first colon after which the part before is an existing file, or — for URLs — a whole
 * URL (a colon followed by a port number is part of the URL).
 */
export function parseReference(spec: string): { source: string; description: string } {
  for (let i = spec.indexOf(':'); i >= 0; i = spec.indexOf(':', i + 1)) {
    const source = spec.slice(0, i);
    const rest = spec.slice(i + 1);
    const ok = isUrl(source) ? /^https?:\/\/[^/]/i.test(source) && !/^\d+(\/|$)/.test(rest) && !rest.startsWith('//') : fs.existsSync(source) && fs.statSync(source).isFile();
    if (ok) {
      const description = rest.trim();
      if (!description) break;
      return { source, description };
    }
  }
  throw new CliError('invalid_argument', `--reference "${spec}": expected FILE_OR_URL:"what it shows" (an existing file or an http(s) URL, then a description).`);
}

/** Every `--reference`, local files uploaded first. At most 5, as the API allows. */
export async function resolveReferences(easel: Easel, specs: string[]): Promise<ReferenceImage[] | undefined> {
  if (specs.length === 0) return undefined;
  if (specs.length > MAX_REFERENCES) throw new CliError('invalid_argument', `At most ${MAX_REFERENCES} --reference images per request (got ${specs.length}).`);
  const parsed = specs.map(parseReference);
  const out: ReferenceImage[] = [];
  for (const r of parsed) out.push({ url: (await resolveImage(easel, r.source)).url, description: r.description });
  return out;
}

/**
 * A storyboard's `reference_url`s that name local files (relative to the storyboard) are uploaded
 * and replaced by their signed URLs; URLs are left alone.
 */
export async function uploadStoryboardFiles(easel: Easel, board: Record<string, unknown>, baseDir: string): Promise<number> {
  let n = 0;
  const visit = async (o: { reference_url?: unknown }) => {
    if (typeof o.reference_url === 'string' && !isUrl(o.reference_url)) {
      const file = path.resolve(baseDir, o.reference_url);
      if (!fs.existsSync(file)) throw new CliError('file_not_found', `reference_url "${o.reference_url}": no such file (relative to the storyboard).`);
      o.reference_url = (await easel.uploadFile(file)).upload_url;
      n++;
    }
  };
  for (const c of (board.characters as { reference_url?: unknown; states?: Record<string, { reference_url?: unknown }> }[] | undefined) ?? []) {
    if (c && typeof c === 'object') {
      await visit(c);
      for (const s of Object.values(c.states ?? {})) if (s && typeof s === 'object') await visit(s);
    }
  }
  for (const l of (board.locations as { reference_url?: unknown }[] | undefined) ?? []) if (l && typeof l === 'object') await visit(l);
  return n;
}
