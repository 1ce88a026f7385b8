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

/**
 * The resolved parameters that produced a single image (issue 22, reproducibility): what Easel sent
 * and what the backend reported, null where nothing says. Shown as the job view's `params`.
 */
export interface JobParams {
  /** The catalogue model that ran (the fallback, after a reroute). */
  model: string;
  vendor_model: string | null;
  vendor_version: string | null;
  /** The seed the backend took (or reported); null when it takes none or did not say. */
  seed: number | null;
  /** The size Easel asked the backend for. */
  width: number;
  height: number;
  steps: number | null;
  sampler: string | null;
  guidance: number | null;
  /** The adapter and its version (ImageProvider.adapterVersion), e.g. "sketch/1". */
  adapter: string | null;
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
  /** Issue 22: absent on jobs completed before it. */
  params?: JobParams;
  /** Issue 22: the image is a kept result of an identical earlier request (the result cache), charged at the model's cache price. */
  cached?: true;
}

export type StoredResult = StoredImageResult | { kind: string; [k: string]: unknown };

export const TERMINAL = new Set(['completed', 'failed', 'canceled']);
