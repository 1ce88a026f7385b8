import { webhookFields } from './webhook-events.js';
import { Type } from 'typebox';
import { jobOptionFields } from './job-options.js';
import { ASPECT_RATIOS, IMAGE_SIZES } from './dimensions.js';
import { DateTime, Eur, Uuid, absentIfNull } from './common.js';

export const AspectRatio = Type.Enum([...ASPECT_RATIOS], { description: 'Aspect ratio.' });
export const ImageSize = Type.Enum([...IMAGE_SIZES], { description: 'Long side: 1K = 1024 px, 2K = 2048 px, 4K = 4096 px.' });
export const Strictness = Type.Enum(['normal', 'liberal']);

export const ReferenceImage = Type.Object(
  {
    url: Type.String({ format: 'uri', pattern: '^https://', maxLength: 4096, description: 'HTTPS URL (or a signed URL of ours).' }),
    description: Type.String({ minLength: 1, maxLength: 1000 }),
  },
  { additionalProperties: false },
);

export const GenerateImageBody = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 4000 }),
    model: absentIfNull(Type.String({ minLength: 1, maxLength: 200 })),
    aspect_ratio: absentIfNull(AspectRatio),
    image_size: absentIfNull(ImageSize),
    reference_images: Type.Optional(Type.Array(ReferenceImage, { maxItems: 5 })),
    strictness: absentIfNull(Strictness),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2147483647, description: 'Easel: fixes the seed; same prompt and seed give the same image.' })),
    raw_prompt: Type.Optional(Type.Boolean({ description: 'Easel: send the prompt exactly as written, without the image template (src/pipelines/templates.ts).' })),
    ...webhookFields,
    ...jobOptionFields,
  },
  { additionalProperties: false },
);

export const FormatFile = Type.Object(
  {
    url: Type.String({ description: 'Signed URL.' }),
    format: Type.String(),
    size_bytes: Type.Integer({ minimum: 0 }),
    hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'SHA-256 hex of the file.' }),
    expires_at: DateTime,
  },
  { additionalProperties: false },
);

export const GenerationResponse = Type.Object(
  {
    id: Uuid,
    ai_generated: Type.Literal(true),
    formats: Type.Object({ png: FormatFile, jpeg: FormatFile, webp: FormatFile }, { additionalProperties: false }),
    cost_eur: Eur,
    balance_eur: Eur,
    image_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    model: Type.Optional(Type.String({ description: 'Easel: the model that produced the image.' })),
  },
  { $id: 'GenerationResponse', additionalProperties: false },
);
