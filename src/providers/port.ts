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
}

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
}

export interface ProviderCapabilities {
  operations: Operation[];
  multiturn: boolean;
  maxConcurrency: number;
}

export interface ImageProvider {
  readonly id: string;
  readonly capabilities: ProviderCapabilities;
  generate(input: GenerateInput): Promise<ProviderOutput>;
  /** Present when capabilities.operations includes 'edit'. */
  edit?(input: EditInput): Promise<ProviderOutput>;
  /** Present when capabilities.operations includes 'combine'. */
  combine?(input: CombineInput): Promise<ProviderOutput>;
}
