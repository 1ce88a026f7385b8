import type { Sharp } from 'sharp';
import type { Moderator, Strictness } from '../../moderation/moderator.js';
import type { ProvenanceFacts } from '../../imaging/provenance-carry.js';

export const PROCESS_OPS = ['crop', 'resize', 'rotate', 'flip', 'trim', 'adjust', 'overlay', 'metadata-strip', 'convert', 'optimize', 'remove-background'] as const;
export type ProcessOp = (typeof PROCESS_OPS)[number];

/** The job operation of a processing op: `process_crop`, `process_metadata_strip`, … */
export const operationOf = (op: ProcessOp): string => `process_${op.replace(/-/g, '_')}`;

/** What a processing job keeps in `request_json`. */
export interface ProcessRequest {
  op: ProcessOp;
  input_image_url: string;
  /** The op's own fields, as validated by its route schema. */
  params: Record<string, unknown>;
  strictness: Strictness;
}

/** What a completed processing job keeps in `result_json` (URLs are minted on read). */
export interface StoredProcessResult {
  kind: 'process';
  operation: ProcessOp;
  key: string;
  mime: string;
  size_bytes: number;
  hash: string;
  width: number;
  height: number;
}

export type OutFormat = 'png' | 'jpeg' | 'webp' | 'avif';

/** The input decoded once: oriented as displayed, sRGB, 8 bits, 3 or 4 channels. */
export interface Decoded {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
  /** The input's file format (png, jpeg, webp, avif, gif, tiff). */
  format: string;
}

export interface Encoded {
  bytes: Buffer;
  format: OutFormat;
  width: number;
  height: number;
}

/** What an operation may reach outside its pixels: its other input images, fetched before it runs, and moderation. */
export interface OpDeps {
  inputs: { fetch(url: string, what: string, signal?: AbortSignal): Promise<Buffer> };
  moderator: Pick<Moderator, 'checkImage'>;
}

export interface OpContext {
  deps: OpDeps;
  signal: AbortSignal;
  strictness: Strictness;
  params: Record<string, unknown>;
  inputBytes: Buffer;
  input: Decoded;
  /** The input's format where we can write it, else png. */
  sameFormat: OutFormat;
  /** Provenance to carry into the output (an op may change it: overlay). */
  provenance: ProvenanceFacts | null;
  /** Images an op used besides the input (overlay's), for the output's C2PA ingredients. */
  ingredients: { bytes: Buffer; mime: string; title: string }[];
  /** A fresh pipeline over the decoded input pixels. */
  pixels(): Sharp;
  /** Encodes under the metadata policy (see encode.ts). */
  encode(img: Sharp, format: OutFormat, options?: Record<string, unknown>, policy?: { keepIcc?: boolean }): Promise<Encoded>;
}

export type ProcessFn = (ctx: OpContext) => Promise<Encoded>;
