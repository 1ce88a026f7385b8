import { Type } from 'typebox';
import { DateTime, Uuid } from './common.js';
import { StorySceneProgress } from './story.js';
import { jobControlFields, jobListFilters, jobListMetadataPattern } from './job-control.js';

export const JobStatus = Type.Enum(['pending', 'processing', 'completed', 'failed', 'canceled'], { description: 'pending → processing → completed | failed (Easel adds canceled).' });

export const Job = Type.Object(
  {
    job_id: Uuid,
    status: JobStatus,
    operation: Type.String({ description: 'Operation type: image, graphic, diagram, edit_image, …, story, process_*.' }),
    created_at: DateTime,
    started_at: Type.Optional(DateTime),
    completed_at: Type.Optional(DateTime),
    scenes_completed: Type.Integer({ minimum: 0 }),
    scenes_total: Type.Integer({ minimum: 0 }),
    model: Type.Optional(Type.String()),
    result: Type.Optional(Type.Object({}, { additionalProperties: true, description: 'Only when completed: the synchronous create response of the operation, with fresh signed URLs.' })),
    error: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false, description: 'Only when failed.' })),
    scenes: Type.Optional(Type.Array(StorySceneProgress, { description: 'Easel, story jobs until completed: each scene, finished ones with their images.' })),
    ...jobControlFields,
  },
  { $id: 'Job', additionalProperties: false },
);

export const JobList = Type.Object(
  {
    generations: Type.Array(Type.Ref('Job')),
    limit: Type.Integer(),
    offset: Type.Integer(),
    total: Type.Integer(),
  },
  { additionalProperties: false },
);

export const JobListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    ...jobListFilters,
  },
  { additionalProperties: false, patternProperties: jobListMetadataPattern },
);
