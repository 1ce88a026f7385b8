import crypto from 'node:crypto';
import type { Pipeline } from './context.js';
import type { StoredImageResult } from '../jobs/types.js';
import type { AspectRatio, ImageSize } from '../providers/catalogue.js';
import { dimensionsFor } from '../jobs/sizes.js';
import { storeImage } from './store-image.js';
import { crashPoint } from '../util/crash.js';

export interface ImageRequest {
  prompt: string;
  model: string;
  aspect_ratio: AspectRatio;
  image_size: ImageSize;
  seed?: number;
  reference_images?: { url: string; description: string }[];
}

/** Same prompt, same seed: the default seed comes from the prompt so a repeat request repeats the picture. */
export function defaultSeed(prompt: string): number {
  return crypto.createHash('sha256').update(prompt).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * Single image: generate, keep the provider's raw output first (so a crash after the vendor
 * answered never pays the vendor twice), encode and store every format, then settle.
 */
export const imagePipeline: Pipeline = async (deps, { job, signal }) => {
  const req = JSON.parse(job.request_json) as ImageRequest;
  const model = deps.catalogue.resolve(req.model, job.operation);
  const rawKey = `jobs/${job.id}/raw/image.png`;
  let raw = await deps.blob.get(rawKey);
  if (!raw) {
    const { width, height } = dimensionsFor(req.aspect_ratio, req.image_size);
    const references = await Promise.all(
      (req.reference_images ?? []).map(async (r, i) => ({
        bytes: await deps.inputs.fetch(r.url, `reference_images[${i}]`, signal),
        description: r.description,
      })),
    );
    const out = await model.provider.generate({
      prompt: req.prompt,
      width,
      height,
      seed: req.seed ?? defaultSeed(req.prompt),
      references,
      signal,
    });
    crashPoint('after_provider_call');
    raw = out.bytes;
    await deps.blob.put(rawKey, raw, out.mime);
    crashPoint('after_raw_stored');
  }
  const image = await storeImage(deps.blob, `jobs/${job.id}/image`, raw, { model: model.id, action: 'created' });
  crashPoint('after_image_stored');
  await deps.jobs.complete(job.id, Number(job.hold_micros), (balanceAfter, charged): StoredImageResult => ({
    kind: 'image',
    model: model.id,
    image,
    cost_micros: charged,
    balance_after_micros: balanceAfter,
  }));
  crashPoint('after_job_completed');
};
