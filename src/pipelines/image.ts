import crypto from 'node:crypto';
import type { Pipeline } from './context.js';
import type { AspectRatio, ImageSize } from '../contract/dimensions.js';
import { dimensionsFor } from '../jobs/sizes.js';
import { finishImageJob } from './finish-image-job.js';
import { withFallbacks } from '../fleet/fallback.js';
import { generatePrompt } from './templates.js';
import type { ContentKind, DiagramType } from '../contract/content-kinds.js';
import { fitToSize, type PixelSize } from './fit-size.js';
import type { ContentSpec } from '../providers/port.js';
import { cacheKey as resultCacheKey } from './result-cache.js';
import { once } from '../util/once.js';

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
  /** An exact output size (the OpenAI-compatible routes' `size`); aspect_ratio and image_size are its nearest. */
  pixel_size?: PixelSize;
}

/** Same prompt, same seed: the default seed comes from the prompt so a repeat request repeats the picture. */
export function defaultSeed(prompt: string): number {
  return crypto.createHash('sha256').update(prompt).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * Single image, graphic or diagram (the job operation is the content kind): generate, then the
 * crash-safe steps in finishImageJob (raw output kept first, every format stored, settled).
 */
export const imagePipeline: Pipeline = async (deps, run) => {
  const { job, signal } = run;
  const req = JSON.parse(job.request_json) as ImageRequest;
  const model = deps.catalogue.resolve(req.model, job.operation);
  const kind: ContentKind = job.operation === 'graphic' || job.operation === 'diagram' ? job.operation : 'image';
  const knockOut = kind === 'graphic' && !!req.transparent_background;
  const { width, height } = req.pixel_size ?? dimensionsFor(req.aspect_ratio, req.image_size);
  const seed = req.seed ?? defaultSeed(req.prompt);
  const prompt = generatePrompt(kind, req.prompt, req);
  const content: ContentSpec = {
    kind,
    subject: req.prompt,
    ...(req.diagram_type ? { diagramType: req.diagram_type } : {}),
    ...(req.transparent_background ? { transparentBackground: true } : {}),
  };
  // Fetched once, when first needed: by the cache key (a cacheable model) or by the call.
  const references = once(() =>
    Promise.all(
      (req.reference_images ?? []).map(async (r, i) => ({
        bytes: await deps.inputs.fetch(r.url, `reference_images[${i}]`, signal),
        description: r.description,
      })),
    ),
  );
  const generate = async () => {
    const refs = await references();
    const routed = await withFallbacks(deps.catalogue, model, Number(job.hold_micros), (m) => m.provider.generate({ prompt, content, width, height, seed, references: refs, signal, ...(run.progress ? { onProgress: run.progress.sink() } : {}) }));
    const output = req.pixel_size ? await fitToSize(routed.output, req.pixel_size) : routed.output;
    // fitToSize returns new bytes: keep what the backend reported about the call.
    return { output: { ...output, params: routed.output.params }, route: routed.route, sent: { width, height } };
  };
  const cacheKey = model.cache
    ? async () =>
        resultCacheKey({
          operation: job.operation,
          model: model.id,
          adapter: model.provider.adapterVersion ?? null,
          prompt,
          content,
          width,
          height,
          seed,
          pixelSize: req.pixel_size ?? null,
          knockOut,
          images: (await references()).map((r) => ({ role: 'reference', bytes: r.bytes, description: r.description })),
        })
    : undefined;
  await finishImageJob(deps, run, generate, { model: model.id, action: 'created', knockOut, ...(cacheKey ? { cacheKey } : {}) });
};
