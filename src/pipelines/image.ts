import crypto from 'node:crypto';
import type { Pipeline } from './context.js';
import type { StoredImageResult } from '../jobs/types.js';
import type { AspectRatio, ImageSize } from '../providers/catalogue.js';
import { dimensionsFor } from '../jobs/sizes.js';
import { storeImage } from './store-image.js';
import { crashPoint } from '../util/crash.js';
import { generatePrompt, type ContentKind, type DiagramType } from './templates.js';
import { knockOutBackground } from '../imaging/transparency.js';

export interface ImageRequest {
  prompt: string;
  model: string;
  aspect_ratio: AspectRatio;
  image_size: ImageSize;
  seed?: number;
  reference_images?: { url: string; description: string }[];
  /** Send the prompt as written, without the content kind's template (src/pipelines/templates.ts). */
  raw_prompt?: boolean;
  /** Graphics: an output with an alpha channel and transparent surroundings. */
  transparent_background?: boolean;
  /** Diagrams: the layout type. */
  diagram_type?: DiagramType;
}

/** Same prompt, same seed: the default seed comes from the prompt so a repeat request repeats the picture. */
export function defaultSeed(prompt: string): number {
  return crypto.createHash('sha256').update(prompt).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * Single image, graphic or diagram (the job operation is the content kind): generate, keep the provider's raw output first (so a crash after the vendor
 * answered never pays the vendor twice), encode and store every format, then settle.
 */
export const imagePipeline: Pipeline = async (deps, { job, signal }) => {
  const req = JSON.parse(job.request_json) as ImageRequest;
  const model = deps.catalogue.resolve(req.model, job.operation);
  const kind: ContentKind = job.operation === 'graphic' || job.operation === 'diagram' ? job.operation : 'image';
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
      prompt: generatePrompt(kind, req.prompt, req),
      content: {
        kind,
        subject: req.prompt,
        ...(req.diagram_type ? { diagramType: req.diagram_type } : {}),
        ...(req.transparent_background ? { transparentBackground: true } : {}),
      },
      width,
      height,
      seed: req.seed ?? defaultSeed(req.prompt),
      references,
      signal,
    });
    crashPoint('after_provider_call');
    // A transparent graphic is promised: if the model painted a plain backdrop anyway, cut it out.
    raw = kind === 'graphic' && req.transparent_background ? await knockOutBackground(out.bytes) : out.bytes;
    await deps.blob.put(rawKey, raw, raw === out.bytes ? out.mime : 'image/png');
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
