import { Type, type TSchema } from 'typebox';
import { DateTime, Uuid, orNull } from './common.js';
import { StorySceneProgress } from './story.js';
import { NextCursor, PAGE_OFFSET_NOTE, StartingAfterJob } from './pagination.js';
import { CONTENT_KINDS } from './content-kinds.js';
import { BatchProgress } from './batches.js';
import { JobCached, JobParams } from './job-params.js';
import { jobControlFields, jobListFilters, jobListMetadataPattern } from './job-control.js';

/**
 * The seed's four statuses. A canceled job (an Easel extension) shows `failed` with
 * `error.code: "canceled"` and `canceled: true`, so a client that polls "until completed or
 * failed" stops; `GET /v1/jobs?status=canceled` still finds cancels alone.
 */
export const JobStatus = Type.Enum(['pending', 'processing', 'completed', 'failed'], {
  description: 'pending → processing → completed | failed. A canceled job (Easel) is failed with error.code "canceled" and canceled: true.',
});

const atOrNull = (description: string) => Type.Optional(orNull(Type.String({ format: 'date-time', description })));

/**
 * `result` by the job's `operation`: what its synchronous create answers. The union lets a
 * generated client type it; the if/then rules tie each shape to its operations for a validator.
 */
const ResultOf = Type.Union([Type.Ref('GenerationResponse'), Type.Ref('StoryResult'), Type.Ref('ProcessResponse'), Type.Ref('BatchResult')], {
  description:
    'Only when completed (and its files not yet expired): the synchronous create response of the operation, with fresh signed URLs — a GenerationResponse for image, graphic, diagram, edit_* and combine_*, a StoryResult for story, a ProcessResponse for process_*, a BatchResult for batch.',
});
const resultIs = (operation: TSchema, ref: string) => ({
  if: { properties: { operation }, required: ['operation', 'result'] },
  then: { properties: { result: Type.Ref(ref) } },
});

export const Job = Type.Object(
  {
    job_id: Uuid,
    status: JobStatus,
    operation: Type.String({ description: 'Operation type: image, graphic, diagram, edit_image, …, story, process_*, batch.' }),
    created_at: DateTime,
    started_at: atOrNull('When processing began; omitted until then.'),
    completed_at: atOrNull('When the job ended (completed or failed, cancels included); omitted until then.'),
    scenes_completed: Type.Integer({ minimum: 0 }),
    scenes_total: Type.Integer({ minimum: 0 }),
    model: Type.Optional(Type.String({ description: 'The model that produced the result: the requested one, or the fallback it was rerouted to (see rerouted).' })),
    rerouted: Type.Optional(
      Type.Object(
        {
          from_model: Type.String({ description: 'The model the request named.' }),
          reason: Type.Union([Type.Literal('no_healthy_backend'), Type.Literal('overflow')], {
            description: "no_healthy_backend: none of its backends was up; overflow: all were busy past the model's overflow_after_s.",
          }),
        },
        { additionalProperties: false, description: "Easel: the requested model's pool could not take the job and a fallback model ran; the job was charged that model's price." },
      ),
    ),
    result: Type.Optional(ResultOf),
    params: Type.Optional(JobParams),
    cached: Type.Optional(JobCached),
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: false, description: 'Only when failed. A cancel has code "canceled".' }),
    ),
    canceled: Type.Optional(Type.Literal(true, { description: 'Easel: the job ended because it was canceled (POST /v1/jobs/{id}/cancel); status is then failed, error.code canceled.' })),
    canceled_at: Type.Optional(Type.String({ format: 'date-time', description: 'Easel: when the cancel took effect (the same instant as completed_at).' })),
    scenes: Type.Optional(Type.Array(StorySceneProgress, { description: 'Easel, story jobs until completed: each scene, finished ones with their images.' })),
    prompt: Type.Optional(Type.String({ maxLength: 200, description: "Easel: the job's prompt (a story's premise, else its first scene's), cut at 200 characters, so a list of jobs says what each one is. Absent for processing operations." })),
    phase: Type.Optional(Type.Enum(['portraits', 'scenes'], { description: 'Easel, story jobs while processing: drawing the character portraits (scenes_completed stays 0 meanwhile), or the scenes.' })),
    portraits_completed: Type.Optional(Type.Integer({ minimum: 0, description: 'Easel, story jobs until completed: character portraits drawn so far.' })),
    portraits_total: Type.Optional(Type.Integer({ minimum: 0, description: 'Easel, story jobs until completed: character portraits to draw (client-supplied references are not drawn).' })),
    batch: Type.Optional(BatchProgress),
    progress: Type.Optional(Type.Ref('JobProgress')),
    batch_id: Type.Optional(Type.String({ format: 'uuid', description: 'Easel, items of a batch: the batch (a job of operation batch) this job is an item of.' })),
    batch_index: Type.Optional(Type.Integer({ minimum: 0, description: "Easel, items of a batch: the item's 0-based place in the batch's items." })),
    ...jobControlFields,
  },
  {
    $id: 'Job',
    additionalProperties: false,
    allOf: [
      resultIs(Type.Enum([...CONTENT_KINDS, ...CONTENT_KINDS.map((k) => `edit_${k}`), ...CONTENT_KINDS.map((k) => `combine_${k}`)]), 'GenerationResponse'),
      resultIs(Type.Literal('story'), 'StoryResult'),
      resultIs(Type.String({ pattern: '^process_' }), 'ProcessResponse'),
      resultIs(Type.Literal('batch'), 'BatchResult'),
    ],
  },
);

export const JobList = Type.Object(
  {
    generations: Type.Array(Type.Ref('Job')),
    limit: Type.Integer(),
    offset: Type.Integer({ description: PAGE_OFFSET_NOTE }),
    total: Type.Integer(),
    next_cursor: NextCursor,
  },
  { additionalProperties: false },
);

export const JobListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 })),
    starting_after: StartingAfterJob,
    ...jobListFilters,
  },
  { additionalProperties: false, patternProperties: jobListMetadataPattern },
);
