import type { Pipeline } from '../pipelines/context.js';
import { imagePipeline } from '../pipelines/image.js';
import { editCombinePipeline } from '../pipelines/edit-combine.js';
import { storyPipeline } from '../story/pipeline.js';
import { PROCESS_PIPELINES } from '../pipelines/process/index.js';

/** Which pipeline runs which job operation. */
export const PIPELINES: Record<string, Pipeline> = {
  image: imagePipeline,
  graphic: imagePipeline,
  diagram: imagePipeline,
  edit_image: editCombinePipeline,
  edit_graphic: editCombinePipeline,
  edit_diagram: editCombinePipeline,
  combine_image: editCombinePipeline,
  combine_graphic: editCombinePipeline,
  combine_diagram: editCombinePipeline,
  story: storyPipeline,
  ...PROCESS_PIPELINES,
};
