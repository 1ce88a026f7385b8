import type { Pipeline } from './context.js';
import { imagePipeline } from './image.js';

/** Which pipeline runs which job operation. */
export const PIPELINES: Record<string, Pipeline> = {
  image: imagePipeline,
};
