import { Type } from 'typebox';
import { absentIfNull, orNull } from './common.js';

/**
 * The OpenAI Images wire format served at /v1/images/generations and /v1/images/edits, so any
 * OpenAI client (the SDKs, Open WebUI, LibreChat) can use Easel by changing its base URL and key.
 * Every image is still an Easel job (src/api/routes/openai-images.ts).
 */

/** The sizes OpenAI lists for its image models; the sizes Easel's models produce are accepted too. */
export const OPENAI_LISTED_SIZES = ['256x256', '512x512', '1024x1024', '1536x1024', '1024x1536', '1792x1024', '1024x1792'] as const;
/** OpenAI model names that reach the catalogue's default model unless the catalogue names them as an alias. */
export const OPENAI_MODEL_NAMES = ['gpt-image-1', 'gpt-image-1-mini', 'gpt-image-1.5', 'dall-e-2', 'dall-e-3'] as const;
export const OPENAI_MAX_N = 10;

const common = {
  prompt: Type.String({ minLength: 1, maxLength: 4000, description: 'What to draw (an edit: the instruction). Moderated like every Easel prompt.' }),
  model: absentIfNull(
    Type.String({
      minLength: 1,
      maxLength: 200,
      description: `A catalogue model id or alias (GET /v1/models). ${OPENAI_MODEL_NAMES.join(', ')} mean the catalogue's default model unless the catalogue gives one of them as an alias.`,
    }),
  ),
  n: absentIfNull(Type.Integer({ minimum: 1, maximum: OPENAI_MAX_N, description: 'How many images; each is its own Easel job, held and charged on its own. Default 1.' })),
  size: absentIfNull(
    Type.String({
      pattern: '^(auto|[1-9]\\d{1,4}x[1-9]\\d{1,4})$',
      description: `auto, ${OPENAI_LISTED_SIZES.join(', ')}, or any size the model produces (its aspect_ratios × image_sizes in GET /v1/models, e.g. 1024x576). The image has exactly this size. auto: 1024x1024 (an edit: the input's shape).`,
    }),
  ),
  quality: absentIfNull(Type.Enum(['auto', 'low', 'medium', 'high', 'standard', 'hd'], { description: 'Accepted for compatibility; Easel prices by model, not quality.' })),
  response_format: absentIfNull(Type.Enum(['url', 'b64_json'], { description: 'url (default): a signed URL valid for EASEL_URL_TTL_S; b64_json: the image bytes, base64.' })),
  output_format: absentIfNull(Type.Enum(['png', 'jpeg', 'webp'], { description: 'Default png. Every format is stored with the job either way.' })),
  output_compression: absentIfNull(Type.Integer({ minimum: 0, maximum: 100, description: 'Accepted for compatibility; ignored.' })),
  background: absentIfNull(Type.Enum(['auto', 'transparent', 'opaque'], { description: 'transparent: a transparent-background graphic (job operation graphic; png or webp).' })),
  moderation: absentIfNull(Type.Enum(['auto', 'low'], { description: 'Accepted for compatibility; Easel moderates at the key\u2019s strictness.' })),
  style: absentIfNull(Type.Enum(['vivid', 'natural'], { description: 'Accepted for compatibility; ignored.' })),
  user: absentIfNull(Type.String({ maxLength: 256, description: 'An end-user id; kept in the job\u2019s metadata as openai_user.' })),
};

export const OpenAIImageGenerationBody = Type.Object(
  {
    ...common,
    stream: absentIfNull(Type.Boolean({ description: 'Streaming is not offered: true answers 400.' })),
    partial_images: absentIfNull(Type.Integer({ minimum: 0, maximum: 3, description: 'Accepted for compatibility (no streaming); ignored.' })),
  },
  { additionalProperties: false },
);

/** The text fields of an edit's multipart form (validated after the form is read). */
export const OpenAIImageEditFields = Type.Object(
  {
    ...common,
    input_fidelity: absentIfNull(Type.Enum(['high', 'low'], { description: 'Accepted for compatibility; ignored.' })),
    stream: absentIfNull(Type.Boolean({ description: 'Streaming is not offered: true answers 400.' })),
    partial_images: absentIfNull(Type.Integer({ minimum: 0, maximum: 3 })),
  },
  { additionalProperties: false },
);

/** The multipart form of POST /v1/images/edits, for the OpenAPI document. */
export const OpenAIImageEditForm = Type.Object(
  {
    image: Type.String({ format: 'binary', description: 'The image to edit (PNG, JPEG or WebP). One file; `image[]` with one file is accepted too.' }),
    mask: Type.Optional(
      Type.String({
        format: 'binary',
        description: 'A PNG whose fully transparent pixels mark where the image may change; everywhere else the input is kept. Scaled to the image when the sizes differ.',
      }),
    ),
    ...common,
  },
  { additionalProperties: false },
);

export const OpenAIImage = Type.Object(
  {
    url: Type.Optional(Type.String({ description: 'Signed URL of the image (response_format url).' })),
    b64_json: Type.Optional(Type.String({ description: 'The image, base64 (response_format b64_json).' })),
    revised_prompt: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const OpenAIImagesResponse = Type.Object(
  {
    created: Type.Integer({ description: 'Unix seconds.' }),
    data: Type.Array(OpenAIImage),
    background: Type.Optional(Type.Enum(['transparent', 'opaque'])),
    output_format: Type.Optional(Type.Enum(['png', 'jpeg', 'webp'])),
    size: Type.Optional(Type.String()),
    quality: Type.Optional(Type.String()),
    easel: Type.Optional(
      Type.Object(
        {
          job_ids: Type.Array(Type.String(), { description: 'One Easel job per image, in order (GET /v1/jobs/{id}).' }),
          model: Type.String(),
          cost_eur: Type.String({ description: 'What the images cost together.' }),
          balance_eur: Type.String({ description: 'The balance after the last image.' }),
        },
        { additionalProperties: false, description: 'Easel: the jobs behind the answer.' },
      ),
    ),
  },
  { $id: 'OpenAIImagesResponse', additionalProperties: false },
);

export const OpenAIErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        message: Type.String(),
        type: Type.String({ description: 'invalid_request_error, insufficient_quota, requests (rate limit) or server_error.' }),
        param: orNull(Type.String()),
        code: orNull(Type.String({ description: 'invalid_api_key, content_policy_violation, insufficient_quota, rate_limit_exceeded, or Easel\u2019s code.' })),
        easel_code: Type.String({ description: 'Easel: the error code of Easel\u2019s own error shape.' }),
        request_id: Type.String({ description: 'Easel: the request id (also in X-Request-Id).' }),
        details: Type.Optional(Type.Object({}, { additionalProperties: true })),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'OpenAIError', description: 'The error shape of the OpenAI-compatible routes (/v1/images/*).' },
);

export const openAIErrorResponses = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, Type.Ref('OpenAIError')]));
