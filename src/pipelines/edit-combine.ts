import type { Pipeline, PipelineDeps } from './context.js';
import type { ModelEntry } from '../providers/catalogue.js';
import { ASPECT_RATIOS, type AspectRatio, type ImageSize } from '../contract/dimensions.js';
import type { ContentSpec, GenerateInput } from '../providers/port.js';
import { dimensionsFor } from '../jobs/sizes.js';
import { defaultSeed } from './image.js';
import { finishImageJob } from './finish-image-job.js';
import { combinePrompt, editPrompt } from './templates.js';
import type { ContentKind, DiagramType } from '../contract/content-kinds.js';
import type { ProvenanceInput } from '../imaging/signing.js';
import { probeImage } from '../net/image-probe.js';
import { JobFailure } from '../errors.js';
import type { Strictness } from '../moderation/moderator.js';
import { withFallbacks } from '../fleet/fallback.js';
import { applyEditMask, fitToSize, type PixelSize } from './fit-size.js';
import { rideOut } from '../util/ride-out.js';
import { once } from '../util/once.js';
import { cacheKey as resultCacheKey } from './result-cache.js';

/** One input image of an edit or combine: a client URL (fetched by the worker) or a multipart upload already in storage. */
export type InputRef = { field: string; url: string } | { field: string; blob_key: string };

/** What an edit or combine job keeps in `request_json`. */
export interface EditCombineRequest {
  mode: 'edit' | 'combine';
  kind: ContentKind;
  /** The instruction (edit) or the arrangement (combine), as the client wrote it. */
  prompt: string;
  model: string;
  /** null: follow the (first) input's shape, snapped to the nearest ratio the model offers. */
  aspect_ratio: AspectRatio | null;
  image_size: ImageSize;
  /** Moderation strictness for the inputs fetched by URL (uploads were checked when they arrived). */
  strictness: Strictness;
  seed?: number;
  reference_images?: { url: string; description: string }[];
  raw_prompt?: boolean;
  transparent_background?: boolean;
  diagram_type?: DiagramType;
  /** Edit: one; combine: 2–5, in order. */
  inputs: InputRef[];
  /** An exact output size (the OpenAI-compatible routes' `size`). */
  pixel_size?: PixelSize;
  /** Edit: an OpenAI-style mask (stored upload); only its fully transparent pixels may change. */
  mask?: { blob_key: string };
}

interface LoadedInput {
  bytes: Buffer;
  mime: string;
}

/**
 * The inputs' bytes. A URL is fetched once (guarded fetcher, or storage for our own signed URLs)
 * and kept under the job, so a resumed attempt and the provenance step read exactly what the
 * model was given, even after the client's URL stopped working.
 */
async function loadInputs(deps: PipelineDeps, jobId: string, refs: InputRef[], strictness: Strictness, signal: AbortSignal): Promise<LoadedInput[]> {
  return Promise.all(
    refs.map(async (ref, i) => {
      let bytes: Buffer | null;
      if ('blob_key' in ref) {
        bytes = await deps.blob.get(ref.blob_key);
        if (!bytes) throw new JobFailure('reference_unavailable', `${ref.field}: the uploaded file is no longer kept.`, false);
      } else {
        const keptKey = `jobs/${jobId}/inputs/${i}`;
        bytes = await deps.blob.get(keptKey);
        if (!bytes) {
          bytes = await deps.inputs.fetch(ref.url, ref.field, signal);
          // Input images are moderated like uploads, before any model sees them.
          const verdict = await deps.moderator.checkImage(bytes, strictness);
          if (!verdict.allowed) throw new JobFailure('content_rejected', `${ref.field} was rejected by content moderation (${verdict.category ?? 'policy'}). Nothing was charged.`, false);
          await deps.blob.put(keptKey, bytes, 'application/octet-stream');
        }
      }
      try {
        return { bytes, mime: (await probeImage(bytes)).contentType };
      } catch {
        throw new JobFailure('reference_unavailable', `${ref.field} is not a supported image (PNG, JPEG or WebP).`, false);
      }
    }),
  );
}

/** The ratio the model offers that is closest (in log scale) to the input's shape. */
export function nearestRatio(width: number, height: number, offered: readonly string[]): AspectRatio {
  const candidates = (offered.length > 0 ? offered : ASPECT_RATIOS).filter((r): r is AspectRatio => (ASPECT_RATIOS as readonly string[]).includes(r));
  const target = Math.log(width / height);
  let best: AspectRatio = '1:1';
  let bestD = Infinity;
  for (const r of candidates.length > 0 ? candidates : ASPECT_RATIOS) {
    const [a, b] = r.split(':').map(Number) as [number, number];
    const d = Math.abs(Math.log(a / b) - target);
    if (d < bestD) (best = r), (bestD = d);
  }
  return best;
}

async function callModel(model: ModelEntry, req: EditCombineRequest, inputs: LoadedInput[], base: GenerateInput) {
  if (req.mode === 'edit') {
    if (!model.provider.edit) throw new JobFailure('internal_error', `model ${model.id} lists edit but its provider cannot edit`, false);
    return model.provider.edit({ ...base, image: { bytes: inputs[0]!.bytes } });
  }
  if (!model.provider.combine) throw new JobFailure('internal_error', `model ${model.id} lists combine but its provider cannot combine`, false);
  return model.provider.combine({ ...base, images: inputs.map((x) => ({ bytes: x.bytes })) });
}

/**
 * Edit (`edit_image|graphic|diagram`) and combine (`combine_…`) jobs: the same crash-safe steps as
 * a generated image (finishImageJob: raw output stored before anything is recorded, formats
 * stored by deterministic keys, settled in one transaction). The stored outputs' C2PA manifests
 * name the inputs as ingredients: an edit is `c2pa.opened` (its input, parentOf) then
 * `c2pa.edited`; a combine is `c2pa.created` from its inputs (componentOf).
 */
export const editCombinePipeline: Pipeline = async (deps, run) => {
  const { job, signal } = run;
  const req = JSON.parse(job.request_json) as EditCombineRequest;
  const model = deps.catalogue.resolve(req.model, job.operation);
  const inputs = await loadInputs(deps, job.id, req.inputs, req.strictness, signal);
  const seed = req.seed ?? defaultSeed(req.prompt);
  // What the call is sent, resolved once: by the cache key (a cacheable model) and by the call.
  const resolved = once(async () => {
    let ratio = req.aspect_ratio;
    if (!ratio) {
      const first = await probeImage(inputs[0]!.bytes);
      ratio = nearestRatio(first.width, first.height, model.aspectRatios);
    }
    const { width, height } = req.pixel_size ?? dimensionsFor(ratio, req.image_size);
    const references = await Promise.all(
      (req.reference_images ?? []).map(async (r, i) => ({ bytes: await deps.inputs.fetch(r.url, `reference_images[${i}]`, signal), description: r.description })),
    );
    const content: ContentSpec = {
      kind: req.kind,
      subject: req.prompt,
      ...(req.diagram_type ? { diagramType: req.diagram_type } : {}),
      ...(req.transparent_background ? { transparentBackground: true } : {}),
    };
    const prompt = req.mode === 'edit' ? editPrompt(req.kind, req.prompt, req) : combinePrompt(req.kind, req.prompt, inputs.length, req);
    return { width, height, references, content, prompt };
  });
  const mask = once(async () => {
    if (!req.mask) return null;
    // After the paid call (or before it, for a cache key): a storage outage is waited out, not paid again (src/util/ride-out.ts).
    const bytes = await rideOut(() => deps.blob.get(req.mask!.blob_key), signal);
    if (!bytes) throw new JobFailure('reference_unavailable', 'mask is no longer stored.', false);
    return bytes;
  });
  const generate = async () => {
    const { width, height, references, content, prompt } = await resolved();
    const routed = await withFallbacks(deps.catalogue, model, Number(job.hold_micros), (m) => callModel(m, req, inputs, { prompt, content, width, height, seed, references, signal, ...(run.progress ? { onProgress: run.progress.sink() } : {}) }));
    let out = routed.output;
    if (req.pixel_size) out = await fitToSize(out, req.pixel_size);
    const maskBytes = await mask();
    if (maskBytes) out = await applyEditMask(out, inputs[0]!.bytes, maskBytes);
    // The fitted or masked bytes are new: keep what the backend reported about the call.
    return { output: { ...out, params: routed.output.params }, route: routed.route, sent: { width, height } };
  };
  const cacheKey = model.cache
    ? async () => {
        const r = await resolved();
        const m = await mask();
        return resultCacheKey({
          operation: job.operation,
          model: model.id,
          adapter: model.provider.adapterVersion ?? null,
          prompt: r.prompt,
          content: r.content,
          width: r.width,
          height: r.height,
          seed,
          pixelSize: req.pixel_size ?? null,
          knockOut: req.kind === 'graphic' && !!req.transparent_background,
          images: [
            ...inputs.map((x) => ({ role: 'input', bytes: x.bytes })),
            ...r.references.map((x) => ({ role: 'reference', bytes: x.bytes, description: x.description })),
            ...(m ? [{ role: 'mask', bytes: m }] : []),
          ],
        });
      }
    : undefined;
  const provenance: ProvenanceInput[] = inputs.map((x, i) => ({ bytes: x.bytes, mime: x.mime, title: `input ${i + 1} (${req.inputs[i]!.field})` }));
  await finishImageJob(deps, run, generate, {
    model: model.id,
    action: req.mode === 'edit' ? 'edited' : 'created',
    inputs: provenance,
    knockOut: req.kind === 'graphic' && !!req.transparent_background,
    ...(cacheKey ? { cacheKey } : {}),
  });
};
