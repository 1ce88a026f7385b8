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
      'Easel, completed single-image jobs: the resolved parameters that produced the image (docs/REPRODUCIBILITY.md). Absent for stories, processing and batches, and for jobs completed before this field existed.',
  },
);

export const JobCached = Type.Literal(true, {
  description:
    "Easel: the image is a kept result of an identical earlier request (same model, prompt, size, seed and inputs) on a model the operator made cacheable; the job was charged the model's cache price. Omitted otherwise.",
});
