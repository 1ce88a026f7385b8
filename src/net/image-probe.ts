import sharp, { type Metadata } from 'sharp';
import { UrlRefused } from './url-refused.js';

const MIME: Record<string, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  avif: 'image/avif',
  tiff: 'image/tiff',
};

export interface ProbedImage {
  format: string;
  contentType: string;
  width: number;
  height: number;
}

/**
 * Identifies an image by its bytes. The sender's Content-Type and file extension are ignored:
 * they are claims, and an SVG or HTML page labelled image/png must not get further than here.
 * This reads the header only; full decoding (and its pixel limits) is the consumer's job.
 */
export async function probeImage(bytes: Buffer): Promise<ProbedImage> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new UrlRefused('not_an_image', 'The URL did not return a supported image.', { cause: e });
  }
  // libvips reports AVIF as HEIF with AV1 compression; HEIC (HEVC) stays unsupported.
  const format = meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heif') : String(meta.format);
  const contentType = MIME[format];
  if (contentType === undefined || !meta.width || !meta.height) {
    throw new UrlRefused('not_an_image', 'The URL did not return a supported image.');
  }
  return { format, contentType, width: meta.width, height: meta.height };
}
