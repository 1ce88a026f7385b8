import type { OutputFormat } from '../imaging/encode.js';

/** One stored output format of an image, as kept in the database (URLs are minted on read). */
export interface StoredFormat {
  key: string;
  mime: string;
  size_bytes: number;
  hash: string;
}

export interface StoredImage {
  formats: Record<OutputFormat, StoredFormat>;
  image_hash: string;
  width: number;
  height: number;
}

/** What a completed job keeps in `result_json`. */
export interface StoredImageResult {
  kind: 'image';
  model: string;
  image: StoredImage;
  cost_micros: number;
  balance_after_micros: number;
  /** Issue 19: the model requested, when its pool was down or overloaded and a fallback ran (`model`). */
  rerouted_from?: string;
  reroute_reason?: 'no_healthy_backend' | 'overflow';
}

export type StoredResult = StoredImageResult | { kind: string; [k: string]: unknown };

export const TERMINAL = new Set(['completed', 'failed', 'canceled']);
