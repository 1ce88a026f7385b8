import { Type } from 'typebox';

/** The live progress of a running job (Easel extension, issue 22): one model for every backend. */
export const JobProgress = Type.Object(
  {
    stage: Type.Enum(['queued', 'loading', 'sampling', 'encoding'], {
      description: "queued: waiting in the backend's own queue; loading: the backend loads the model; sampling: drawing (step/steps when the backend counts steps); encoding: the image is being finished.",
    }),
    step: Type.Optional(Type.Integer({ minimum: 0, description: 'Sampling step done, when the backend counts steps (within the current scene for a story).' })),
    steps: Type.Optional(Type.Integer({ minimum: 0, description: 'Sampling steps planned.' })),
    fraction: Type.Number({ minimum: 0, maximum: 1, description: "How far the whole job is, 0…1 (a story: across all its scenes). Never decreases while the attempt runs; a retried attempt starts again." }),
    scene: Type.Optional(Type.Integer({ minimum: 1, description: 'Story jobs: the scene being drawn (1-based).' })),
    queue_position: Type.Optional(Type.Integer({ minimum: 0, description: "While queued: the place in the backend's own queue, as the backend reports it (fal, Replicate)." })),
    preview_url: Type.Optional(
      Type.String({
        format: 'uri',
        description: 'The latest intermediate frame (WebP, at most 256 px), signed like result URLs. Valid only while the job runs and the frame is current: 404 once a newer frame replaced it or the job ended. Also at GET /v1/jobs/{id}/preview with your key.',
      }),
    ),
    preview_expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When preview_url stops working at the latest.' })),
    updated_at: Type.String({ format: 'date-time', description: 'When the backend reported this (milliseconds).' }),
  },
  {
    $id: 'JobProgress',
    additionalProperties: false,
    description: 'Easel, only while the job is processing and its backend has reported something: live progress. Updated at most 4 times a second; also as job.progress events on GET /v1/jobs/{id}/events and, opt-in, as job.progress webhooks.',
  },
);

/** A `job.progress` SSE event's data and webhook body. */
export const ProgressEvent = Type.Object(
  {
    type: Type.Literal('job.progress'),
    timestamp: Type.String({ format: 'date-time' }),
    data: Type.Object({ job_id: Type.String({ format: 'uuid' }), progress: Type.Ref('JobProgress') }, { additionalProperties: false }),
  },
  { $id: 'ProgressEvent', additionalProperties: false, description: 'A job.progress event: not stored, not replayed, no seq. Webhooks only when the job\'s webhook_events names job.progress.' },
);
