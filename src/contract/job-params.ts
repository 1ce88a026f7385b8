import { Type } from 'typebox';
import { orNull } from './common.js';

/**
 * Issue 22: the resolved parameters that produced a completed single image (image, graphic,
 * diagram, edit_*, combine_*). Null where neither Easel nor the backend knows; nothing is guessed.
 */
export const JobParams = Type.Object(
  {
    model: Type.String({ description: 'The catalogue model that ran (the fallback, when the job was rerouted).' }),
    vendor_model: orNull(Type.String({ description: "The backend's own model name (checkpoint, vendor model id), as the adapter reports it." })),
    vendor_version: orNull(Type.String({ description: 'The version the vendor reports (a Replicate version hash, a checkpoint hash), when it reports one.' })),
    seed: orNull(
      Type.Integer({
        description:
          'The seed the backend took. Send it back as `seed`, with the same prompt, model, aspect_ratio and image_size, to re-run the generation; on a deterministic backend (the offline renderer) the pixels are identical. null: the backend takes no seed (or did not say).',
      }),
    ),
    width: Type.Integer({ minimum: 1, description: 'The width Easel asked the backend for, in pixels.' }),
    height: Type.Integer({ minimum: 1, description: 'The height Easel asked the backend for, in pixels.' }),
    steps: orNull(Type.Integer({ minimum: 0, description: 'Sampling steps, when the backend has them.' })),
    sampler: orNull(Type.String({ description: 'The sampler (or scheduler), when the backend has one.' })),
    guidance: orNull(Type.Number({ description: 'Guidance (CFG) scale, when the backend has one.' })),
    adapter: orNull(Type.String({ description: "Easel's adapter for the backend and its version, e.g. sketch/1: a new version may draw different pixels for the same parameters." })),
  },
  {
    additionalProperties: false,
    description:
      'Easel, completed single-image jobs: the resolved parameters that produced the image (docs/REPRODUCIBILITY.md). Absent for processing and batches, and for jobs completed before this field existed; a story has none of its own: each of its scenes and generated portraits carries its `params`.',
  },
);

/**
 * Issue 22, stories: the same fields for one generated portrait or scene (each is one provider
 * call). Not a recipe to re-run a scene: it was also drawn from the conversation so far.
 */
export const StoryStepParams = Type.Object(JobParams.properties, {
  additionalProperties: false,
  description:
    'Easel, stories: the resolved parameters of this one generated image (docs/REPRODUCIBILITY.md), the fields of a single image\'s `params`; `seed` is the one derived for this step. A scene cannot be re-run from them through the story API: each scene is also drawn from the story\'s earlier scenes and references. Absent for client-supplied references and for steps recorded before this field existed.',
});

export const JobCached = Type.Literal(true, {
  description:
    "Easel: the image is a kept result of an identical earlier request (same model, prompt, size, seed and inputs) on a model the operator made cacheable; the job was charged the model's cache price. Omitted otherwise.",
});
