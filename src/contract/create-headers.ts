import { Type } from 'typebox';

/**
 * Request headers every job-creating route understands (Easel, issue 7). Documented in the OpenAPI
 * document through the route schema; other headers pass (additionalProperties).
 */
export const CreateHeaders = Type.Object(
  {
    'idempotency-key': Type.Optional(
      // No length keywords here: a bad key is 400 bad_request (checked in src/idempotency/request.ts), not a schema 422.
      Type.String({
        description:
          'Easel: retry-safe creates. The same key with the same request (endpoint + body; multipart: fields + file bytes) within 24 h answers with the first request\'s job — same job id, no second charge, also while it runs (Idempotent-Replayed: true). Same key, different request: 409 idempotency_conflict. Keys are per account; 1–255 visible ASCII characters (400 otherwise).',
      }),
    ),
    prefer: Type.Optional(
      Type.String({
        description:
          'Easel: `wait=N` (RFC 7240; N capped at 60, echoed in Preference-Applied). Story: 200 with the finished job (GET /v1/jobs/{id} view) if it ends within N s, else 202 as usual. Synchronous creates: wait at most N s (instead of EASEL_SYNC_TIMEOUT_S), then 202 {job_id, poll_url} if still running.',
      }),
    ),
  },
  { additionalProperties: true },
);
