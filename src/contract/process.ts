import { webhookFields } from './webhook-events.js';
import { Type, type TSchema } from 'typebox';
import { jobOptionFields } from './job-options.js';
import { DateTime, Uuid, absentIfNull } from './common.js';

/** Processing and upload shapes. Limits use limit keywords (→ 422); wrong types and formats are 400. */

/** The Depicta reference types the optional parameters `null | T`: null means the default. */
const orNull = absentIfNull;

export const InputImageUrl = Type.String({
  format: 'uri',
  pattern: '^https?://',
  maxLength: 4096,
  description: 'The image: an https URL, or a signed URL of ours (a generation, an upload, an earlier processing result). Plain http is accepted only for our own URLs.',
});

const body = <P extends Record<string, TSchema>>(props: P) =>
  Type.Object({ input_image_url: InputImageUrl, ...props, ...webhookFields, ...jobOptionFields }, { additionalProperties: false });

export const CropBody = body({
  x: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Left edge in px.' }),
  y: Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Top edge in px.' }),
  width: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  height: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
});

export const ResizeBody = body({
  width: orNull(Type.Integer({ minimum: 1, maximum: 16_384 })),
  height: orNull(Type.Integer({ minimum: 1, maximum: 16_384 })),
  fit: Type.Optional(Type.Enum(['fill', 'cover', 'inside'], { description: 'Easel, when both sides are given: fill (default, exactly that size), cover (crop to fill), inside (fit within, keep ratio).' })),
});

export const RotateBody = body({
  angle: Type.Number({ minimum: -360, maximum: 360, description: 'Degrees; positive = counter-clockwise.' }),
  expand: orNull(Type.Boolean({ description: 'Default true: grow the canvas to fit. false: keep the original size (corners cut).' })),
  fill_color: orNull(Type.String({ pattern: '^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$', description: 'Hex #RGB, #RRGGBB or #RRGGBBAA; default #FFFFFF.' })),
});

export const FlipBody = body({ direction: Type.Enum(['horizontal', 'vertical'], { description: 'horizontal mirrors left↔right; vertical top↔bottom.' }) });

export const TrimBody = body({
  tolerance: orNull(Type.Integer({ minimum: 0, maximum: 255, description: 'Allowed difference from the top-left pixel colour; default 10.' })),
});

const level = (what: string) => orNull(Type.Number({ minimum: -1, maximum: 1, description: `${what}: −1…1, 0 = unchanged.` }));
export const AdjustBody = body({ brightness: level('Brightness'), contrast: level('Contrast'), saturation: level('Saturation (−1 = greyscale)') });

export const OverlayBody = body({
  overlay_image_url: { ...InputImageUrl, description: 'The image placed on top; moderated before use.' },
  x: Type.Integer({ minimum: -100_000, maximum: 100_000, description: 'Left edge of the overlay on the base, px (may be partly outside).' }),
  y: Type.Integer({ minimum: -100_000, maximum: 100_000 }),
  opacity: orNull(Type.Number({ minimum: 0, maximum: 1, description: 'Default 1.' })),
});

export const MetadataStripBody = body({
  keep_icc: orNull(Type.Boolean({ description: 'Default true: keep the colour profile.' })),
});

export const ConvertBody = body({
  format: Type.Enum(['png', 'jpeg', 'webp', 'avif']),
  quality: orNull(Type.Integer({ minimum: 1, maximum: 100, description: 'jpeg, webp, avif only (defaults 90, 90, 60).' })),
});

export const OptimizeBody = body({
  mode: Type.Optional(Type.Enum(['lossy', 'lossless'], { description: 'Default lossy.' })),
  target_bytes: orNull(Type.Integer({ minimum: 1, maximum: 1_073_741_824, description: 'lossy only: the highest quality whose file fits in this many bytes.' })),
});

export const RemoveBackgroundBody = body({
  tolerance: orNull(Type.Integer({ minimum: 1, maximum: 255, description: 'Colour distance (0–255) still counted as background; default chosen from the border noise.' })),
});

export const ProcessResponse = Type.Object(
  {
    image_url: Type.String({ description: 'Signed URL of the result (1 hour).' }),
    content_type: Type.String({ description: 'MIME type of the result.' }),
    expires_at: DateTime,
    operation: Type.String({ description: 'The operation performed, as in the path (crop, remove-background, …).' }),
    job_id: Type.Optional(Uuid),
    width: Type.Optional(Type.Integer({ minimum: 1 })),
    height: Type.Optional(Type.Integer({ minimum: 1 })),
    size_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
    hash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 hex of the file.' })),
  },
  { $id: 'ProcessResponse', additionalProperties: false, description: 'Processing result; job_id, width, height, size_bytes and hash are Easel additions.' },
);

export const UploadResponse = Type.Object(
  {
    upload_id: Uuid,
    upload_url: Type.String({ description: 'Signed URL (1 hour), usable as any input image URL.' }),
    expires_at: DateTime,
    content_type: Type.Optional(Type.String({ description: 'Easel: the format found by decoding.' })),
    width: Type.Optional(Type.Integer({ minimum: 1 })),
    height: Type.Optional(Type.Integer({ minimum: 1 })),
    size_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
