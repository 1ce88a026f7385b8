/**
 * The largest picture Easel decodes or produces, in pixels (50 MP: a 4K generation rotated with
 * `expand` is 34 MP). Decoded RGBA is four bytes a pixel, so this bounds a job's memory; libvips
 * is told the same number so a decompression bomb fails before it allocates.
 */
export const MAX_PIXELS = 50_000_000;
/** Longest side accepted for a requested output size (resize). */
export const MAX_SIDE = 16_384;
