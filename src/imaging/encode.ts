import sharp from 'sharp';
import { sha256Hex } from './hash.js';
import { buildXmp, type ProvenanceInfo } from './xmp.js';

export type { ProvenanceInfo } from './xmp.js';

export type OutputFormat = 'png' | 'jpeg' | 'webp';

export interface EncodedImage {
  format: OutputFormat;
  mime: string;
  bytes: Buffer;
  /** Lowercase hex SHA-256 of `bytes`. */
  sha256: string;
  width: number;
  height: number;
}

export const OUTPUT_FORMATS: readonly OutputFormat[] = ['png', 'jpeg', 'webp'];

const MIME: Record<OutputFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };

/**
 * Re-encodes one image into each requested format (default all three), in parallel, each
 * carrying the AI-provenance XMP. The input is decoded once to raw pixels: three decodes of
 * a large PNG would cost more than the encodes. EXIF orientation is applied first, because
 * outputs carry no EXIF that could rotate them later.
 */
export async function encodeAll<F extends OutputFormat = OutputFormat>(
  input: Buffer,
  provenance: ProvenanceInfo,
  formats: readonly F[] = OUTPUT_FORMATS as readonly F[],
): Promise<Record<F, EncodedImage>> {
  const wanted = [...new Set(formats)];
  for (const f of wanted) {
    if (!(f in MIME)) throw new RangeError(`unsupported output format: ${String(f)}`);
  }
  const xmp = buildXmp(provenance);
  const { data, info } = await sharp(input)
    .autoOrient()
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const raw = { width: info.width, height: info.height, channels: info.channels };
  const encoded = await Promise.all(wanted.map((f) => encodeOne(data, raw, f, xmp)));
  return Object.fromEntries(encoded.map((e) => [e.format, e])) as Record<F, EncodedImage>;
}

async function encodeOne(
  data: Buffer,
  raw: { width: number; height: number; channels: 1 | 2 | 3 | 4 },
  format: OutputFormat,
  xmp: string,
): Promise<EncodedImage> {
  let img = sharp(data, { raw }).withXmp(xmp);
  if (format === 'png') img = img.png({ compressionLevel: 6 });
  if (format === 'jpeg') img = img.flatten({ background: '#ffffff' }).jpeg({ quality: 90, mozjpeg: false });
  // effort 2 instead of the default 4: measured 3x faster at 1024x1024 for ~12% more bytes,
  // and WebP was otherwise the slowest of the three by far.
  if (format === 'webp') img = img.webp({ quality: 90, effort: 2 });
  const { data: bytes, info } = await img.toBuffer({ resolveWithObject: true });
  return { format, mime: MIME[format], bytes, sha256: sha256Hex(bytes), width: info.width, height: info.height };
}
