import { Type } from 'typebox';
import { JobMetadata, JobPriority } from './job-options.js';

const eur = (description: string) => Type.String({ pattern: '^-?\\d+\\.\\d{6}$', description: `${description} EUR, 6 decimals.` });
const at = (description: string) => Type.String({ format: 'date-time', description });
const atOrNull = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

/** Easel's optional job fields from issue 7 part A (cancel, money, metadata, queue, retention). */
export const jobControlFields = {
  cost: Type.Optional(
    Type.Object(
      {
        held_eur: eur('Still reserved for this job (0 once it has ended).'),
        charged_eur: eur('Captured: work delivered (a failed or canceled story keeps its finished scenes).'),
        refunded_eur: eur('Returned to the balance.'),
      },
      { additionalProperties: false, description: 'Easel: the money of this job. held + charged + refunded = everything ever held for it (the create price, plus one scene price per scene retry).' },
    ),
  ),
  max_cost_eur: Type.Optional(eur('Easel: the max_cost_eur the job was created with.')),
  metadata: Type.Optional(JobMetadata),
  cancel_requested_at: Type.Optional(at('Easel: a cancel was requested while the job ran; it ends canceled after the step in flight.')),
  priority: Type.Optional(JobPriority),
  queue_position: Type.Optional(
    Type.Union([Type.Integer({ minimum: 1 }), Type.Null()], {
      description:
        "Easel, pending jobs: 1 + the jobs (of any account) that will start before it in the fair order — its account's own jobs ahead of it, and the other accounts' jobs served meanwhile by their weights. 1 = next to start. null while it is being handed to a worker.",
    }),
  ),
  estimated_start_at: Type.Optional(atOrNull('Easel, pending jobs: when a worker should pick it up, from measured durations; null when there is no history to measure.')),
  estimated_completed_at: Type.Optional(atOrNull('Easel, pending and processing jobs: from measured durations of recent jobs of the same operation and model; null when unknown.')),
  result_expires_at: Type.Optional(at('Easel, ended jobs: when the job\'s files are deleted (retention).')),
  result_expired: Type.Optional(
    Type.Boolean({ description: 'Easel: true once the retention period passed and the files were deleted; a completed job then has no `result` (and story scenes no images).' }),
  ),
};

const STATUSES = '(pending|processing|completed|failed|canceled)';

/** GET /v1/jobs filters (all optional, combined with AND, applied before limit/offset; total counts the filtered set). */
export const jobListFilters = {
  status: Type.Optional(Type.String({ pattern: `^${STATUSES}(,${STATUSES})*$`, description: 'Easel: one status or several, comma-separated (status=failed,canceled).' })),
  operation: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}(,[a-z_]{1,40})*$', description: 'Easel: one operation or several, comma-separated (operation=story,image).' })),
  created_after: Type.Optional(Type.String({ format: 'date-time', description: 'Easel: only jobs created after this instant (RFC 3339).' })),
  created_before: Type.Optional(Type.String({ format: 'date-time', description: 'Easel: only jobs created before this instant (RFC 3339).' })),
};

/** `metadata[key]=value`: fastify's query parser keeps the brackets in the name, so the schema matches the name. */
export const jobListMetadataPattern = {
  '^metadata\\[[A-Za-z0-9_.:-]{1,40}\\]$': Type.String({ maxLength: 500, description: 'Easel: only jobs whose metadata has this key with exactly this value (repeat for several keys).' }),
};
