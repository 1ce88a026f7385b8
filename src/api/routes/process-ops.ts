import type { TSchema } from 'typebox';
import type { FieldError } from '../../contract/common.js';
import type { ProcessOp } from '../../pipelines/process/types.js';
import {
  AdjustBody,
  ConvertBody,
  CropBody,
  FlipBody,
  MetadataStripBody,
  OptimizeBody,
  OverlayBody,
  RemoveBackgroundBody,
  ResizeBody,
  RotateBody,
  TrimBody,
} from '../../contract/process.js';

type Body = Record<string, unknown>;

/** One processing route: its schema, its OpenAPI text, and the cross-field rules a schema cannot say (→ 422). */
export interface ProcessOpSpec {
  op: ProcessOp;
  body: TSchema;
  summary: string;
  description: string;
  check?: (b: Body) => FieldError[];
}

const given = (b: Body, k: string) => b[k] !== undefined && b[k] !== null;

export const PROCESS_OP_SPECS: ProcessOpSpec[] = [
  { op: 'crop', body: CropBody, summary: 'Crop a rectangle', description: 'x, y: top-left corner; width, height: size, in px of the image as displayed (EXIF orientation applied). A rectangle reaching outside the image answers 422 naming the field.' },
  {
    op: 'resize',
    body: ResizeBody,
    summary: 'Resize',
    description: 'Give width and/or height. With one, the other keeps the aspect ratio; with both, `fit` decides (fill: exactly that size; cover: crop to fill; inside: fit within). At most 16384 px a side and 50 megapixels.',
    check: (b) => (given(b, 'width') || given(b, 'height') ? [] : [{ path: 'width', message: 'width or height is required' }, { path: 'height', message: 'width or height is required' }]),
  },
  { op: 'rotate', body: RotateBody, summary: 'Rotate by any angle', description: 'angle in degrees (−360…360), positive = counter-clockwise. expand (default true) grows the canvas to fit; false keeps the original size. Exposed corners take fill_color (default #FFFFFF; #RRGGBBAA for transparency).' },
  { op: 'flip', body: FlipBody, summary: 'Mirror', description: 'direction horizontal mirrors left↔right, vertical mirrors top↔bottom.' },
  { op: 'trim', body: TrimBody, summary: 'Trim uniform borders', description: 'Removes borders whose colour is within tolerance (0–255, default 10) of the top-left pixel. A uniform image is returned unchanged.' },
  {
    op: 'adjust',
    body: AdjustBody,
    summary: 'Brightness, contrast, saturation',
    description: 'Each −1…1, 0 = unchanged, at least one: brightness −1 black, +1 white; contrast −1 flat grey, +1 doubled; saturation −1 greyscale, +1 doubled. Alpha is untouched.',
    check: (b) => (['brightness', 'contrast', 'saturation'].some((k) => given(b, k)) ? [] : ['brightness', 'contrast', 'saturation'].map((path) => ({ path, message: 'at least one of brightness, contrast, saturation is required' }))),
  },
  { op: 'overlay', body: OverlayBody, summary: 'Place one image over another', description: 'overlay_image_url is drawn at (x, y) on input_image_url with opacity (0–1, default 1); it may hang over the edges but must touch the image. The overlay is moderated before use (403 content_rejected).' },
  { op: 'metadata-strip', body: MetadataStripBody, summary: 'Strip metadata', description: 'Removes EXIF, XMP and IPTC. Always keeps provenance: an input that declares an IPTC DigitalSourceType (Easel outputs declare trainedAlgorithmicMedia) keeps it in a fresh XMP packet. keep_icc (default true) keeps the colour profile. Same format; lossy formats are re-encoded at quality 95.' },
  {
    op: 'convert',
    body: ConvertBody,
    summary: 'Convert format',
    description: 'Easel: format png, jpeg, webp or avif; quality 1–100 for the lossy ones (defaults jpeg 90, webp 90, avif 60). JPEG has no alpha: transparency becomes white.',
    check: (b) => (b.format === 'png' && given(b, 'quality') ? [{ path: 'quality', message: 'does not apply to png (lossless)' }] : []),
  },
  {
    op: 'optimize',
    body: OptimizeBody,
    summary: 'Make the file smaller',
    description: 'Easel: keeps the format. mode lossless (PNG, WebP, AVIF): the same pixels at the strongest compression; JPEG answers 422. mode lossy (default): quality 75 (PNG: a quantised palette), or with target_bytes the highest quality whose file fits (binary search); if nothing fits, the smallest file is returned and size_bytes says so.',
    check: (b) => (b.mode === 'lossless' && given(b, 'target_bytes') ? [{ path: 'target_bytes', message: 'applies to mode lossy only' }] : []),
  },
  {
    op: 'remove-background',
    body: RemoveBackgroundBody,
    summary: 'Remove a plain background',
    description:
      'Easel: classical segmentation, no model. The background colours are learnt from the image border (up to three: flat colours or a soft gradient) and the border-connected region within tolerance becomes transparent, with a feathered edge. Works for product shots, icons and illustrations on plain or simple backgrounds; busy photographic backgrounds answer 422. Limits: subject parts that touch the border or match the background colour at their edge are lost; background seen through holes in the subject stays. Output PNG (WebP for WebP input) with alpha.',
  },
];
