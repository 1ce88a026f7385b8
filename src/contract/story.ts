import { webhookFields } from './webhook-events.js';
import { Type } from 'typebox';
import { jobOptionFields } from './job-options.js';
import { AspectRatio, FormatFile, ImageSize, Strictness } from './generation.js';
import { DateTime, Eur, Uuid, absentIfNull } from './common.js';
import { StoryStepParams } from './job-params.js';

/**
 * The story contract (POST /v1/generate/story). Limits the schema can state (counts, lengths) are
 * 422 validation_failed; cross-references between names are checked in src/story/validate.ts.
 */

export const STORY_LIMITS = { characters: 10, states: 5, locations: 20, scenes: 50, sceneCharacters: 10 } as const;

const Name = Type.String({ minLength: 1, maxLength: 100 });
const Text = Type.String({ minLength: 1, maxLength: 2000 });
/** The Depicta reference types `reference_url` as `null | string`: null (or absent) means "generate the portrait". */
const ReferenceUrl = absentIfNull(
  Type.String({
    format: 'uri',
    pattern: '^https?://',
    maxLength: 4096,
    description: 'HTTPS URL of a reference image (or a signed URL of ours). Replaces the generated portrait; null or absent: the portrait is generated.',
  }),
);

export const StoryState = Type.Object({ appearance: Text, reference_url: ReferenceUrl }, { additionalProperties: false });

export const StoryCharacter = Type.Object(
  {
    name: Name,
    appearance: Text,
    reference_url: ReferenceUrl,
    states: Type.Optional(
      Type.Record(Type.String(), StoryState, {
        maxProperties: STORY_LIMITS.states,
        propertyNames: { minLength: 1, maxLength: 60 },
        description: 'Named appearance variants (costumes, disguises), at most 5.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const StoryLocation = Type.Object({ name: Name, description: Text, reference_url: ReferenceUrl }, { additionalProperties: false });

export const SceneCharacter = Type.Union([Name, Type.Object({ name: Name, state: Type.String({ minLength: 1, maxLength: 60 }) }, { additionalProperties: false })], {
  description: 'A character by name, or {name, state} for one of its states.',
});

export const StoryScene = Type.Object(
  {
    prompt: Type.String({ minLength: 1, maxLength: 4000 }),
    characters: Type.Optional(Type.Array(SceneCharacter, { maxItems: STORY_LIMITS.sceneCharacters })),
    location: absentIfNull(Name),
    aspect_ratio: absentIfNull(AspectRatio),
    image_size: absentIfNull(ImageSize),
  },
  { additionalProperties: false },
);

export const StoryBody = Type.Object(
  {
    model: absentIfNull(Type.String({ minLength: 1, maxLength: 200 })),
    characters: Type.Array(StoryCharacter, { minItems: 1, maxItems: STORY_LIMITS.characters }),
    locations: Type.Optional(Type.Array(StoryLocation, { maxItems: STORY_LIMITS.locations })),
    scenes: Type.Array(StoryScene, { minItems: 1, maxItems: STORY_LIMITS.scenes }),
    // The reference does not type these four; null is taken as absent, like the fields it does type.
    prompt: absentIfNull(Type.String({ minLength: 1, maxLength: 4000, description: 'Story-wide context.' })),
    style: absentIfNull(Text),
    setting: absentIfNull(Text),
    aspect_ratio: absentIfNull(AspectRatio),
    image_size: absentIfNull(ImageSize),
    raw_prompts: absentIfNull(Type.Boolean({ description: 'true: scene prompts are sent as written, without the story template.' })),
    strictness: absentIfNull(Strictness),
    ...webhookFields,
    ...jobOptionFields,
  },
  { additionalProperties: false },
);

export const StoryAccepted = Type.Object(
  { job_id: Uuid, poll_url: Type.String({ description: '/v1/generate/story/{job_id}' }) },
  { $id: 'StoryAccepted', additionalProperties: false },
);

/**
 * A scene's images as the Depicta stories guide reads them: `images.png` is the URL. The detail
 * of each file (size, hash, expiry) is beside it in `formats`, the shape image results use.
 */
const SceneImageUrl = Type.String({ description: 'Signed URL (1 hour; its expiry is formats.<format>.expires_at).' });
const SceneImages = Type.Object({ png: SceneImageUrl, jpeg: SceneImageUrl, webp: SceneImageUrl }, { additionalProperties: false, description: 'The scene\'s signed URL per format.' });
const SceneFormats = Type.Object({ png: FormatFile, jpeg: FormatFile, webp: FormatFile }, { additionalProperties: false, description: 'Easel: each format\'s url, size_bytes, hash and expires_at, as image results give them.' });

/** Easel extension on a story job until it completes: every scene with its state. */
export const StorySceneProgress = Type.Object(
  {
    index: Type.Integer({ minimum: 0, description: '0-based, as in the request (scenes[index]).' }),
    status: Type.Enum(['completed', 'pending', 'processing', 'failed', 'skipped', 'canceled'], {
      description: 'processing: being generated now; skipped: never started because the story failed earlier (retry it with POST /v1/jobs/{id}/scenes/{n}/retry); canceled: never started because the job was canceled.',
    }),
    prompt: Type.String(),
    cost_eur: Type.Optional(Type.String({ pattern: '^-?\\d+\\.\\d{6}$', description: 'Easel, completed scenes: what the scene was charged, EUR.' })),
    images: Type.Optional(SceneImages),
    formats: Type.Optional(SceneFormats),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false })),
    params: Type.Optional(StoryStepParams),
  },
  { additionalProperties: false },
);

export const StoryResult = Type.Object(
  {
    id: Uuid,
    ai_generated: Type.Literal(true),
    scenes: Type.Array(Type.Object({ prompt: Type.String(), images: SceneImages, formats: SceneFormats, params: Type.Optional(StoryStepParams) }, { additionalProperties: false })),
    character_refs: Type.Array(
      Type.Object(
        {
          name: Type.String({ description: 'The character, or "Name (state)" for a state.' }),
          url: Type.String(),
          expires_at: Type.Union([DateTime, Type.Null()], { description: 'null for a client-provided reference (url is then the client URL).' }),
          character: Type.Optional(Type.String({ description: 'Easel: the character name alone.' })),
          state: Type.Optional(Type.String({ description: 'Easel: the state name, for a state reference.' })),
          params: Type.Optional(StoryStepParams),
        },
        { additionalProperties: false },
      ),
    ),
    characters: Type.Array(
      Type.Object(
        {
          name: Type.String(),
          reference_url: Type.String(),
          expires_at: Type.Union([DateTime, Type.Null()]),
          character: Type.Optional(Type.String()),
          state: Type.Optional(Type.String()),
          params: Type.Optional(StoryStepParams),
        },
        { additionalProperties: false },
      ),
      { description: 'The same references under the names of the public guide.' },
    ),
    cost_eur: Eur,
    balance_eur: Eur,
    model: Type.Optional(Type.String()),
  },
  { $id: 'StoryResult', additionalProperties: false, description: 'A completed story job\'s `result`.' },
);
