/**
 * The aspect ratios and image sizes (long side) a request may ask for. Here because the request
 * schemas, the model catalogue (src/providers/catalogue.ts) and the CLI all offer the same lists.
 */
export const ASPECT_RATIOS = ['1:1', '2:3', '3:2', '3:4', '4:3', '4:5', '5:4', '9:16', '16:9', '21:9'] as const;
export const IMAGE_SIZES = ['1K', '2K', '4K'] as const;
export type AspectRatio = (typeof ASPECT_RATIOS)[number];
export type ImageSize = (typeof IMAGE_SIZES)[number];
