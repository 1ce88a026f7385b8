/**
 * The image formats on the wire: what an upload may be (told by its first bytes), and the MIME
 * type and file extension of each format a result comes in. In contract/ because the server's
 * upload check and the SDK's uploads and downloads must agree on them.
 */

/** The upload formats, as their first bytes announce them. */
export type UploadFormat = 'png' | 'jpeg' | 'webp';

/**
 * Looks at the magic bytes only. Used before any decoder runs on client bytes, so that only
 * the three upload formats ever reach libvips from an upload (an SVG labelled image/png, with
 * its external references, never gets parsed at all). The decoder confirms afterwards.
 */
export function sniffImageFormat(b: Buffer): UploadFormat | null {
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && b.toString('latin1', 0, 4) === 'RIFF' && b.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

export const MIME_OF: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  avif: 'image/avif',
};

export const EXT_OF: Record<string, string> = { png: 'png', jpeg: 'jpg', webp: 'webp', avif: 'avif' };
