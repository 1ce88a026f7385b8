/** The provider port: what a model vendor (or the offline renderer) must do for Easel. */
export type Operation = 'generate' | 'edit' | 'combine';

export interface InputImage {
  bytes: Buffer;
  description?: string;
}

/** A character (or a character in a named state) the image must show, with its reference if one exists. */
export interface FigureRef {
  key: string;
  appearance: string;
  reference?: InputImage;
}

export interface GenerateInput {
  prompt: string;
  width: number;
  height: number;
  seed: number;
  references: InputImage[];
  figures?: FigureRef[];
  portrait?: boolean;
  /** Earlier turns of a multi-turn session (stories), oldest first. */
  history?: { prompt: string; image: InputImage }[];
  /**
   * What the client asked for, beside `prompt` (which may be wrapped in a template, see
   * src/pipelines/templates.ts): the content kind, the client's own words, and the structured
   * options. Vendor adapters send `prompt`; the offline renderer draws from this.
   */
  content?: ContentSpec;
  signal: AbortSignal;
  /**
   * Where the provider reports how far it got while it runs (issue 22). Optional, cheap and
   * never throwing: call it as often as the backend says anything; the caller throttles,
   * coalesces and stores (src/progress/). A provider that learns nothing reports nothing.
   */
  onProgress?: ProgressSink;
}

/** How far a running generation got, in the backend's own terms (mapped to one model, src/progress/). */
export type ProgressStage = 'queued' | 'loading' | 'sampling' | 'encoding';

export interface ProviderProgress {
  stage: ProgressStage;
  /** Sampling step done and the steps planned, when the backend counts steps. */
  step?: number;
  steps?: number;
  /** 0…1 of this generation, when the backend says (else derived from step/steps). */
  fraction?: number;
  /** Place in the backend's own queue, while `stage` is queued (fal, Replicate). */
  queuePosition?: number;
  /** An intermediate frame (any format sharp reads): Easel stores a small WebP of it. */
  preview?: { bytes: Buffer };
}

export type ProgressSink = (p: ProviderProgress) => void;

export interface ContentSpec {
  kind: 'image' | 'graphic' | 'diagram';
  /** The client's prompt (or instruction) as written. */
  subject: string;
  diagramType?: 'flowchart' | 'sequence' | 'architecture' | 'mindmap' | 'er' | 'class' | 'timeline' | 'org-chart';
  transparentBackground?: boolean;
}

/** Edit: `prompt` is the instruction applied to `image`. */
export interface EditInput extends GenerateInput {
  image: InputImage;
}

/** Combine 2–5 images into one, arranged as `prompt` says. */
export interface CombineInput extends GenerateInput {
  images: InputImage[];
}

export interface ProviderOutput {
  bytes: Buffer;
  mime: string;
  /** What the backend says it used (issue 22, reproducibility): recorded as the job's `params`. */
  params?: ProviderParams;
}

/**
 * The resolved parameters a backend reports or was sent. `seed` only when the backend took the
 * seed Easel sent (or reported its own); absent: the backend has no seed.
 */
export interface ProviderParams {
  vendor_model?: string;
  vendor_version?: string;
  seed?: number;
  steps?: number;
  sampler?: string;
  guidance?: number;
}

export interface ProviderCapabilities {
  operations: Operation[];
  multiturn: boolean;
  maxConcurrency: number;
  /** Same parameters, same pixels (the offline renderer; a seeded local backend): results may be cached (issue 22). */
  deterministic?: boolean;
}

export interface ImageProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  /** The adapter and its version, recorded in every job's `params` (e.g. "comfyui/2"). */
  readonly adapterVersion?: string;
  generate(input: GenerateInput): Promise<ProviderOutput>;
  /** Present when capabilities.operations includes 'edit'. */
  edit?(input: EditInput): Promise<ProviderOutput>;
  /** Present when capabilities.operations includes 'combine'. */
  combine?(input: CombineInput): Promise<ProviderOutput>;
}
