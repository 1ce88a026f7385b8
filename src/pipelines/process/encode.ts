import type { Sharp } from 'sharp';
import { buildCarriedXmp, type ProvenanceFacts } from '../../imaging/provenance-carry.js';
import type { Encoded, OutFormat } from './types.js';

/** Defaults when an op does not choose: visually lossless for lossy formats. */
const DEFAULTS: Record<OutFormat, Record<string, unknown>> = {
  png: { compressionLevel: 6 },
  jpeg: { quality: 90 },
  webp: { quality: 90, effort: 4 },
  avif: { quality: 60, effort: 4 },
};

/**
 * The one place outputs are written, so the metadata policy holds for every operation:
 * pixels are sRGB (no EXIF, no foreign XMP); the input's provenance is carried as a fresh XMP
 * packet; `keepIcc` (metadata-strip only, whose pipeline starts from the original file) keeps
 * the input's colour profile. JPEG has no alpha, so transparency is flattened onto white.
 */
export async function encodeImage(
  img: Sharp,
  format: OutFormat,
  options: Record<string, unknown> | undefined,
  meta: { provenance: ProvenanceFacts | null; operation: string; keepIcc?: boolean },
): Promise<Encoded> {
  let p = img;
  if (format === 'jpeg') p = p.flatten({ background: '#ffffff' });
  if (meta.provenance) p = p.withXmp(buildCarriedXmp(meta.provenance, meta.operation, new Date()));
  if (meta.keepIcc) p = p.keepIccProfile();
  const opts = { ...DEFAULTS[format], ...(options ?? {}) };
  p = format === 'png' ? p.png(opts) : format === 'jpeg' ? p.jpeg(opts) : format === 'webp' ? p.webp(opts) : p.avif(opts);
  const { data, info } = await p.toBuffer({ resolveWithObject: true });
  return { bytes: data, format, width: info.width, height: info.height };
}
